"""Does onnxruntime's InferenceSession.run release the GIL? (the onnxruntime environment's python)

    python bench/onnxruntime_gil.py MODEL.onnx

A pure-Python counter thread runs alone, then beside a thread that is inside session.run
(nearly) all the time. If run held the GIL, the counter would stop while a call is in
flight (a few % of its rate at most); if run releases it, the counter keeps the share of
the CPU the scheduler gives it. Decides onnxruntime's default isolation (docs/design.md).
"""
import threading, time, sys, numpy as np, onnxruntime as ort
so = ort.SessionOptions(); so.intra_op_num_threads = 1
s = ort.InferenceSession(sys.argv[1], sess_options=so, providers=["CPUExecutionProvider"])
x = np.random.rand(1, 3, 224, 224).astype(np.float32)
def counter_rate(busy, secs=4.0):
    stop = time.monotonic() + secs; n = [0]; inside = [0.0]
    def count():
        while time.monotonic() < stop: n[0] += 1
    def work():
        while time.monotonic() < stop:
            t = time.monotonic(); busy(); inside[0] += time.monotonic() - t
    a = threading.Thread(target=count); b = threading.Thread(target=work) if busy else None
    t0 = time.monotonic(); a.start(); b and b.start(); a.join(); b and b.join()
    return n[0] / (time.monotonic() - t0), inside[0] / secs
alone, _ = counter_rate(None)
beside_run, frac = counter_rate(lambda: s.run(None, {"input": x}))
print("counter alone %.0f/s; beside session.run %.0f/s (%.0f%%), the run thread inside run %.0f%% of the time" % (alone, beside_run, 100 * beside_run / alone, 100 * frac))
