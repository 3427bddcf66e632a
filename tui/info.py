"""Informational commands: ``edgemt devices``, ``edgemt models``, ``edgemt env ...``."""
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from runners import config, environments, paths, probe
from runners.catalog import CATALOG, FRAMEWORKS, model_names
from runners.errors import BadInput

from tui.exit_codes import ExitCode


def _env_rows(cfg):
    """(framework, choice or None, hello) for every framework, probing in parallel."""
    choices = {fw: environments.find_python(fw, cfg) for fw in FRAMEWORKS}

    def ask(fw):
        c = choices[fw]
        return probe.probe(fw, c.python) if c else None

    with ThreadPoolExecutor(max_workers=len(FRAMEWORKS)) as pool:
        hellos = dict(zip(FRAMEWORKS, pool.map(ask, FRAMEWORKS)))
    return [(fw, choices[fw], hellos[fw]) for fw in FRAMEWORKS]


def devices_command(args) -> int:
    from collectors.registry import default_collectors, describe
    from tui.session import edgetpu_lister

    cfg = config.load()
    rows = _env_rows(cfg)
    resources = {"cpu": ["cpu"]}
    for fw, choice, hello in rows:
        if hello and hello.get("ev") == "hello":
            for d in hello.get("devices") or []:
                if d != "cpu":
                    resources.setdefault(d, []).append(fw)
            resources["cpu"].append(fw)
    resources["cpu"] = resources["cpu"][1:]
    for tpu in edgetpu_lister()():
        resources.setdefault(tpu, []).append("tflite")
    cols = default_collectors()
    sensors = describe(cols)
    out = {
        "resources": [{"resource": r, "frameworks": fws} for r, fws in resources.items()],
        "frameworks": [{"framework": fw, "python": c.python if c else None,
                        "available": bool(h and h.get("ev") == "hello"),
                        "version": (h or {}).get("framework_version"),
                        "reason": None if h and h.get("ev") == "hello" else (h or {}).get("reason", "no environment")}
                       for fw, c, h in rows],
        "collectors": [{"name": n, "available": ok, "detail": d} for n, ok, d in sensors],
    }
    _collector_details(out, cols)
    if not any(r["resource"] == "edgetpu" or r["resource"].startswith("edgetpu:") for r in out["resources"]):
        out["edgetpu"] = "not available: no EdgeTPU found on USB (1a6e:089a, 18d1:9302) or PCIe (apex_N)"
    if args.json:
        print(json.dumps(out))
        return ExitCode.OK
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title="resources")
    t.add_column("resource")
    t.add_column("frameworks")
    for r in out["resources"]:
        t.add_row(r["resource"], ", ".join(r["frameworks"]) or "-")
    console.print(t)
    if "edgetpu" in out:
        console.print(f"edgetpu: {out['edgetpu']}")
    t = Table(title="collectors")
    t.add_column("collector")
    t.add_column("state")
    for c in out["collectors"]:
        t.add_row(c["name"], "available" + (f" ({c['detail']})" if c["detail"] else "") if c["available"]
                  else f"not available: {c['detail']}")
    console.print(t)
    for c in out["collectors"]:
        if c.get("metrics"):
            console.print(f"{c['name']}: {len(c['metrics'])} metrics: {', '.join(c['metrics'][:12])}"
                          + (", ..." if len(c["metrics"]) > 12 else ""))
    console.print(f"power: {out['power']}")
    return ExitCode.OK


def _collector_details(out, cols) -> None:
    """Adds to each available collector its facts (``info``) and the metric names one sample
    gives, and ``power``: which collector measures the board's power (for J/inference), or
    why none does."""
    by_name = {c["name"]: c for c in out["collectors"]}
    power_from = None
    for col in cols:
        entry = by_name.get(col.name)
        if entry is None or not entry["available"]:
            continue
        try:
            entry["info"] = col.info()
            metrics = col.sample()
        except Exception as exc:  # a listing never fails for one sensor
            entry["info_error"] = str(exc)
            continue
        entry["metrics"] = sorted(k for k, m in metrics.items() if m.value is not None)
        if power_from is None and "power_w" in entry["metrics"]:
            power_from = col.name
        try:
            col.close()
        except Exception:
            pass
    if power_from:
        out["power"] = f"measured by {power_from} (power_w): energy and J/inference are recorded"
    else:
        why = [f"{c['name']}: {c['detail']}" for c in out["collectors"]
               if c["name"] in ("jetson", "tegrastats", "ina219", "nvml") and not c["available"]]
        out["power"] = "not measured: J/inference is n/a" + (f" ({'; '.join(why)})" if why else "")


def models_command(args) -> int:
    if getattr(args, "models_command", None) == "prepare":
        return prepare_command(args)
    prepared = paths.models_dir() / "tflite"
    onnx_dir = paths.models_dir() / "onnx"
    rows = []
    for name in model_names():
        m = CATALOG[name]
        row = {"model": name, "title": m.title, "input": m.input_size, "params_m": m.params_m, "gflops": m.gflops}
        for fw in FRAMEWORKS:
            ok = m.supports(fw)
            if ok and fw == "tflite" and not (prepared / f"{name}_int8.tflite").exists():
                row[fw] = "prepare"  # supported, file not made yet: edgemt models prepare tflite
            elif ok and fw == "onnxruntime" and not (onnx_dir / f"{name}_fp32.onnx").exists():
                row[fw] = "prepare"  # edgemt models prepare onnx
            else:
                row[fw] = "yes" if ok else "no"
        rows.append(row)
    if args.json:
        print(json.dumps({"models": rows}))
        return ExitCode.OK
    from rich.console import Console
    from rich.table import Table

    t = Table(title="models (Table I of the study)")
    for col in ("model", "input", "params (M)", "GFLOPs", *FRAMEWORKS):
        t.add_column(col, justify="right" if col in ("input", "params (M)", "GFLOPs") else "left")
    for r in rows:
        t.add_row(r["model"], str(r["input"]), f"{r['params_m']:g}", f"{r['gflops']:g}", *[r[fw] for fw in FRAMEWORKS])
    Console().print(t)
    print("prepare = supported; make the files with 'edgemt models prepare tflite' or 'edgemt models prepare onnx'")
    return ExitCode.OK


def _check_out_folder(out: str) -> None:
    """--out of models prepare: a folder that exists and is writable, or one that can be made."""
    import os
    from pathlib import Path

    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise BadInput(f"--out {out} is not a folder; give a folder for the models")
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise BadInput(f"--out {out}: {probe} is not a folder you can write to; give a folder for the models")


def prepare_command(args) -> int:
    if args.framework == "onnx":
        return prepare_onnx_command(args)
    from runners.probe import CHILD_DIR

    names = args.models or ["inception_v3", "mobilenet_v1", "mobilenet_v2"]
    for n in names:
        if n not in CATALOG or not CATALOG[n].supports("tflite"):
            ok = [m for m in model_names() if CATALOG[m].supports("tflite")]
            raise BadInput(f"model {n!r} has no TFLite version; accepted: {', '.join(ok)}")
    # every path before the tensorflow child starts (it would end in a traceback after minutes)
    out = args.out or str(paths.models_dir() / "tflite")
    _check_out_folder(out)
    images = None
    if args.images is not None:
        from tui.headless import check_images

        images = check_images(args.images)
    tf = environments.require_python("tensorflow")
    cmd = [tf.python, str(CHILD_DIR / "prepare_tflite.py"), "--out", out]
    if images:
        cmd += ["--images", images]
    if args.edgetpu:
        cmd.append("--edgetpu")
    if args.co_compile:
        cmd.append("--co-compile")
    cmd += names
    import os

    # TensorFlow's C++ log lines would bury the one JSON line per model.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, env=env)
    text = proc.stdout.decode(errors="replace")
    if args.json:
        lines = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
        print(json.dumps({"models": lines, "out": out}))
    else:
        sys.stdout.write(text)
    return proc.returncode


def prepare_onnx_command(args) -> int:
    """fp32 ONNX files exported in the torch environment, int8 ones quantised in the
    onnxruntime environment (runners/child/prepare_onnx.py), one model at a time."""
    from runners.probe import CHILD_DIR

    if args.edgetpu or args.co_compile:
        raise BadInput("--edgetpu and --co-compile are for 'edgemt models prepare tflite'")
    names = args.models or model_names()
    for n in names:
        if n not in CATALOG or not CATALOG[n].supports("onnxruntime"):
            raise BadInput(f"model {n!r} has no ONNX version; accepted: {', '.join(model_names())}")
    out = args.out or str(paths.models_dir() / "onnx")
    _check_out_folder(out)
    images = None
    if args.images is not None:
        from tui.headless import check_images

        images = check_images(args.images)
    torch_env = environments.require_python("torch")
    ort_env = environments.require_python("onnxruntime")
    script = str(CHILD_DIR / "prepare_onnx.py")
    # torch.onnx's exporter needs the onnx package: the onnxruntime environment's is lent to it.
    site = subprocess.run([ort_env.python, "-c", "import onnx, os; print(os.path.dirname(os.path.dirname(onnx.__file__)))"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if site.returncode != 0:
        raise BadInput(f"the onnxruntime environment ({ort_env.python}) has no onnx package: "
                       "'edgemt env create onnxruntime' installs it (or pip install onnx there)")
    steps = [[torch_env.python, script, "export", "--out", out, "--onnx-site", site.stdout.strip(), *names]]
    if args.precision in ("int8", "both"):
        steps.append([ort_env.python, script, "quantize", "--out", out, *(["--images", images] if images else []),
                      *names])
    lines, rc = [], 0
    for cmd in steps:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE)
        text = proc.stdout.decode(errors="replace")
        lines += [json.loads(x) for x in text.splitlines() if x.startswith("{")]
        if not args.json:
            sys.stdout.write(text)
        rc = proc.returncode
        if rc != 0:
            break
    if args.precision == "int8":  # the fp32 files were made as the int8 files' source, not asked for
        lines = [x for x in lines if x.get("precision") == "int8"]
    if args.json:
        print(json.dumps({"models": lines, "out": out}))
    return rc


# The oldest Pythons edgemt runs on: the controller needs 3.8 (JetPack 5, Ubuntu 20.04),
# a runner child 3.6 (JetPack 4's system Python). Checked by tests/unit/test_python_versions.py.
CONTROLLER_PYTHON_FLOOR = "3.8"
CHILD_PYTHON_FLOOR = "3.6"


def controller_facts() -> dict:
    """The controller's own interpreter and UI toolkit (read from metadata, not imported)."""
    from importlib import metadata

    try:
        textual = metadata.version("textual")
    except metadata.PackageNotFoundError:
        textual = None
    return {"python": sys.executable, "python_version": ".".join(map(str, sys.version_info[:3])),
            "needs_python": CONTROLLER_PYTHON_FLOOR + "+", "children_need_python": CHILD_PYTHON_FLOOR + "+",
            "textual": textual}


def env_command(args) -> int:
    cfg = config.load()
    if args.env_command == "list":
        ctl = controller_facts()
        out = []
        for fw, choice, hello in _env_rows(cfg):
            row = {"framework": fw, "python": choice.python if choice else None,
                   "source": choice.source if choice else None}
            if hello and hello.get("ev") == "hello":
                row.update(imports=True, framework_version=hello.get("framework_version"),
                           numpy=hello.get("numpy"), runtime=hello.get("runtime"), devices=hello.get("devices"))
            else:
                row.update(imports=False, reason=(hello or {}).get("reason") or f"not created: edgemt env create {fw}")
            out.append(row)
        if getattr(args, "json", False):
            print(json.dumps({"controller": ctl, "environments": out}))
            return ExitCode.OK
        print(f"{'controller':<11} {ctl['python']}: Python {ctl['python_version']} (edgemt needs "
              f"{ctl['needs_python']}, runner children {ctl['children_need_python']}), textual {ctl['textual'] or '-'}")
        for r in out:
            if r["imports"]:
                print(f"{r['framework']:<11} {r['python']} ({r['source']}): {r['framework']} {r['framework_version']}, "
                      f"numpy {r['numpy']}, devices {', '.join(r['devices'] or [])}")
            else:
                print(f"{r['framework']:<11} {r['python'] or '-'}: does not import: {r['reason']}")
        return ExitCode.OK
    if args.env_command == "create":
        environments.check_framework(args.framework)
        path = environments.create(args.framework)
        print(f"{args.framework} environment ready in {path}")
        return ExitCode.OK
    if args.env_command == "use":
        environments.use(args.framework, args.python)
        print(f"{args.framework} runs with {args.python} (saved in {paths.config_file()})")
        return ExitCode.OK
    raise BadInput(f"unknown env command {args.env_command!r}; accepted: list, create, use")
