"""An edgemt home whose framework environments are the oracle child (oracle_child.py).

Use it through the ``oracle_home`` fixture of tests/conftest.py::

    def test_something(oracle_home):
        oracle_home.model("mobilenet_v2", batch_s=0.025)           # every framework
        oracle_home.model("tflite:mobilenet_v2", fixed_batch=1)     # one placement
        proc = run_edgemt("run", "--tenant", "mobilenet_v2,count=2", "--duration", "3",
                          "--window", "0.5", "--json", check=0)
        rows = oracle_home.rows("SELECT images, batches FROM windows")

Every framework (torch, tflite, tensorflow, mxnet) in config.toml's [envs] is a wrapper
script that runs oracle_child.py with the controller's own Python, so the real CLI,
Supervisor, child main loop and DB are exercised with no framework environment. Batch
times and the other knobs are in oracle_child.py's docstring; ``model(KEY, **timing)``
sets one KEY ("framework:model", "model" or "*"), ``set(**fields)`` the top-level ones
(``devices``, ``stall_near_edge_s``, ``freeze_after_s``, ``mute_after_resume``),
``ledger()`` turns on the ledger of counted batches and sent windows, read back with
``batches_counted(tenant)`` and ``windows_sent(tenant)``. Changes apply to children started later.
The data folder (logs, models) is private to the test too.
"""
import json
import sqlite3
import sys
from pathlib import Path

ORACLE_CHILD = Path(__file__).resolve().parent / "oracle_child.py"
FRAMEWORKS = ("torch", "tflite", "tensorflow", "mxnet")


def on_schedule(figure: float, nominal: float, batch_images: int, seconds: float) -> bool:
    """Whether a throughput figure (images a second over ``seconds``) is the oracle's schedule,
    ``nominal`` images a second: its batches end on an absolute schedule (a late one is caught
    up), so the figure is at most one batch (``batch_images``, of every tenant counted) over
    it, and under it only by what a stall of this machine near the span's end kept out (at
    load 10 under ten test workers: 2 of a tenant's 142 batches, once 38.7 of 40 img/s): 10%."""
    return 0.9 * nominal <= figure <= nominal + batch_images / seconds


class OracleHome:
    def __init__(self, home: Path, python: str = sys.executable):
        self.home = Path(home)
        self.db = self.home / "edgemt.db"
        self.dir = self.home / "oracle"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "config.json"
        self.config = {"models": {"*": {"base_s": 0.02}}, "devices": ["cpu"]}
        self.save()
        envs = {}
        for fw in FRAMEWORKS:
            wrapper = self.dir / f"python-{fw}"
            # The controller runs INTERPRETER -u runners/child --framework F ...: exec keeps
            # the pid, so the child's parent checks and PDEATHSIG work as with a real one.
            wrapper.write_text(f'#!/bin/sh\nexec "{python}" -u "{ORACLE_CHILD}" "{self.config_path}" "$@"\n')
            wrapper.chmod(0o755)
            envs[fw] = str(wrapper)
        self.envs = envs
        cfg = self.home / "config" / "edgemt" / "config.toml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text("[envs]\n" + "".join(f'{fw} = "{py}"\n' for fw, py in envs.items()))

    def save(self):
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.config, indent=1))
        tmp.replace(self.config_path)

    def model(self, key: str, **timing):
        """Sets the timing of KEY ("framework:model", "model" or "*"); see oracle_child.py."""
        self.config["models"][key] = timing
        self.save()
        return self

    def set(self, **fields):
        self.config.update(fields)
        self.save()
        return self

    def ledger(self) -> Path:
        """Turns on the ledger of counted batches; returns its folder."""
        folder = self.dir / "ledger"
        folder.mkdir(exist_ok=True)
        return self.set(ledger_dir=str(folder)).dir / "ledger"

    def batches_counted(self, tenant: int) -> list:
        """End times (run clock, as the DB's windows) of every batch tenant's loop counted."""
        return [t for t, _ in self.batch_latencies(tenant)]

    def batch_latencies(self, tenant: int) -> list:
        """(end time on the run clock, latency in seconds the child measured) of every
        batch the tenant's loop counted."""
        path = self.dir / "ledger" / f"t{tenant}.txt"
        if not path.exists():
            return []
        return [tuple(float(x) for x in line.split()) for line in path.read_text().splitlines()]

    def windows_sent(self, tenant: int) -> list:
        """(images, batches) of every window the tenant's child sent, in order."""
        path = self.dir / "ledger" / f"w{tenant}.txt"
        if not path.exists():
            return []
        return [tuple(int(x) for x in line.split()) for line in path.read_text().splitlines()]

    def rows(self, sql: str, args=()) -> list:
        c = sqlite3.connect(self.db)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()
