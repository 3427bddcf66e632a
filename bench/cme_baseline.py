# Copied unchanged from the project's shared/cme_baseline.py (the independent raw CME loop
# edgemt's GPU figures are compared with), so bench/gpu_check.sh can run where shared/ does not travel.
"""Raw PyTorch concurrent-model-execution (CME) baseline on one GPU.

For each model, N tenant processes (each its own CUDA context, as separate
runners would be) run inference loops in lock-step windows; aggregate
throughput = sum of images / window. A thread variant (N threads, one CUDA
stream each, one process) is measured for comparison.
Usage: python cme_baseline.py OUT_JSON [--quick]
"""
import json, os, sys, time
import multiprocessing as mp

MODELS = {"mobilenet_v2": 224, "resnet50": 224, "inception_v3": 299}
BATCHES = [1, 8, 32]
CONC = [1, 2, 4, 8]
WARM_S, RUN_S = 1.0, 2.5


def build(name, dev):
    import torch
    try:
        import torchvision.models as tvm
        kw = {"aux_logits": False, "init_weights": False} if name == "inception_v3" else {}
        m = getattr(tvm, name)(weights=None, **kw)
    except Exception:  # CPU dry run without torchvision
        m = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10))
    return m.eval().to(dev)


def loop(m, x, dev, seconds):
    import torch
    n = 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        while True:
            m(x)
            n += 1
            if n % 4 == 0:
                if dev == "cuda":
                    torch.cuda.synchronize()
                if time.perf_counter() - t0 >= seconds:
                    break
    if dev == "cuda":
        torch.cuda.synchronize()
    return n, time.perf_counter() - t0


def worker(rank, name, barrier, q, cfg):
    global BATCHES, WARM_S, RUN_S, MODELS
    BATCHES, WARM_S, RUN_S, MODELS = cfg
    import torch
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cpu":
        torch.set_num_threads(1)
    m = build(name, dev)
    res = MODELS[name]
    for bs in BATCHES:
        x = torch.randn(bs, 3, res, res, device=dev)
        try:
            loop(m, x, dev, WARM_S)
            barrier.wait(timeout=120)
            n, el = loop(m, x, dev, RUN_S)
            err = None
        except Exception as e:  # OOM etc.
            n, el, err = 0, RUN_S, repr(e)[:200]
            try:
                barrier.wait(timeout=120)
            except Exception:
                pass
        mem = torch.cuda.max_memory_allocated() if dev == "cuda" else 0
        q.put({"rank": rank, "bs": bs, "images": n * bs, "elapsed": el, "err": err, "peak_mem": mem})


def run_procs(name, conc):
    ctx = mp.get_context("spawn")
    barrier, q = ctx.Barrier(conc), ctx.Queue()
    ps = [ctx.Process(target=worker, args=(r, name, barrier, q, (BATCHES, WARM_S, RUN_S, MODELS))) for r in range(conc)]
    t0 = time.time()
    for p in ps:
        p.start()
    rows = [q.get(timeout=300) for _ in range(conc * len(BATCHES))]
    for p in ps:
        p.join()
    out = []
    for bs in BATCHES:
        rs = [r for r in rows if r["bs"] == bs]
        thr = sum(r["images"] / r["elapsed"] for r in rs)
        out.append({"mode": "procs", "model": name, "conc": conc, "bs": bs, "throughput": round(thr, 1),
                    "errors": [r["err"] for r in rs if r["err"]], "peak_mem_mb": max(r["peak_mem"] for r in rs) / 2**20})
    print(f"{name} conc={conc} wall={time.time()-t0:.1f}s", *(f"bs{o['bs']}:{o['throughput']}" for o in out), flush=True)
    return out


def run_threads(name, conc, bs):
    import threading, torch
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    ms = [build(name, dev) for _ in range(conc)]
    res = MODELS[name]
    xs = [torch.randn(bs, 3, res, res, device=dev) for _ in range(conc)]
    streams = [torch.cuda.Stream() for _ in range(conc)] if dev == "cuda" else [None] * conc
    counts = [0] * conc
    barrier = threading.Barrier(conc)

    def th(i):
        ctxm = torch.cuda.stream(streams[i]) if streams[i] is not None else __import__("contextlib").nullcontext()
        with ctxm:
            loop(ms[i], xs[i], dev, WARM_S)
            barrier.wait()
            n, el = loop(ms[i], xs[i], dev, RUN_S)
            counts[i] = n * bs / el
    ts = [threading.Thread(target=th, args=(i,)) for i in range(conc)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    thr = round(sum(counts), 1)
    print(f"threads {name} conc={conc} bs={bs}: {thr}", flush=True)
    return {"mode": "threads", "model": name, "conc": conc, "bs": bs, "throughput": thr}


if __name__ == "__main__":
    out_path = sys.argv[1]
    if "--quick" in sys.argv:
        MODELS = {"mobilenet_v2": 64}
        BATCHES, CONC = [1, 4], [1, 2]
        WARM_S, RUN_S = 0.3, 0.5
    results = []
    for name in MODELS:
        for c in CONC:
            results += run_procs(name, c)
            json.dump(results, open(out_path, "w"), indent=1)
    for c in CONC:
        results.append(run_threads(list(MODELS)[0], c, 1))
        json.dump(results, open(out_path, "w"), indent=1)
    print("done")
