import json
table = {
 "mobilenet_v2": {1: [332, 477, 951, 1449], 8: [2826, 4100, 6589, 7224], 32: [11147, 10526, 10539, 10506]},
 "resnet50": {1: [288, 468, 753, 873], 8: [1610, 2880, 3810, 3819], 32: [6083, 5463, 5481, 5475]},
 "inception_v3": {1: [100, 183, 396, 461], 8: [1128, 1429, 2023, 2045], 32: [4064, 3750, 3716, 3802]},
}
levels = [1, 2, 4, 8]
for model, rows in table.items():
    pts = [{"concurrency": c, "batch": b, "isolation": "process", "ok": True, "throughput": float(v)}
           for b, vals in rows.items() for c, v in zip(levels, vals)]
    g = {"command": "transcribed from ../shared/paper-notes.md (Measured on a modern GPU)",
         "source": "raw PyTorch 2.11 eager fp32 on an NVIDIA H200, N tenant processes, no MPS; not measured by edgemt",
         "axes": {"concurrency": levels, "batch": [1, 8, 32], "isolation": ["process"]}, "points": pts}
    open(f"tests/data/grids/h200_notes_{model}.json", "w").write(json.dumps(g, indent=1) + "\n")
