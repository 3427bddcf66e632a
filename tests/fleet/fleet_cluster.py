"""The local Ray cluster of the fleet tests (tests/fleet/conftest.py) and bench/fleet_cost.py:
a real Ray cluster on this machine standing for a fleet: a head and three worker nodes,
each worker a board (``board:b1``..``board:b3`` and ``edgemt`` resources) with its own
XDG config and data folders: a config.toml naming the real tflite environment, and the
prepared models linked in (they are a cache). One CPU each, a small object store, no
dashboard. Every node is a ``ray start --block`` in its own session, so the finalizer ends
exactly the processes it started (SIGTERM, then SIGKILL to the session) and checks none is
left. The tests of this folder are marked 'fleet' and 'frameworks' (their pytestmark): make
check leaves them to make test.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import edgemt_testlib

RAY = str(Path(sys.executable).parent / "ray")
BOARDS = ("b1", "b2", "b3")
NODE_ARGS = ["--num-cpus", "1", "--object-store-memory", "100000000", "--disable-usage-stats", "--block"]


# (Ray's private GlobalState: the node table straight from the GCS, without ray.init)
NODE_TABLE = """
import json, sys
from ray._private import services, state
gs = state.GlobalState()
gs._initialize_global_state(services._get_gcs_client_options(sys.argv[1]))
print(json.dumps([{"NodeID": n["NodeID"], "Alive": bool(n["Alive"]), "Resources": n.get("Resources") or {}}
                  for n in gs.node_table()]))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, name, args, env, log: Path):
        self.name = name
        self.log = log
        self.proc = subprocess.Popen([RAY, "start", *args, *NODE_ARGS], env=env, stdin=subprocess.DEVNULL,
                                     stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)

    def wait_started(self, timeout=180):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = self.log.read_text(errors="replace")
            if "Ray runtime started" in text:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"ray start for {self.name} exited {self.proc.returncode}:\n{text[-3000:]}")
            time.sleep(0.5)
        raise AssertionError(f"ray start for {self.name} did not start in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def session_pids(self):
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if os.getsid(int(d.name)) == self.proc.pid:
                        out.append(int(d.name))
                except OSError:
                    pass
        return out

    def kill(self, sig=signal.SIGKILL):
        """Every process of this node's session (the node is gone at once: a board unplugged)."""
        for pid in self.session_pids():
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # ray start --block stops its processes
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        end = time.monotonic() + 10
        while self.session_pids() and time.monotonic() < end:
            self.kill()
            time.sleep(0.5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self.session_pids()


class Cluster:
    def __init__(self, root: Path):
        self.root = root
        # AF_UNIX socket paths hold 107 bytes: Ray's sockets live under a short folder
        self.ray_tmp = Path(tempfile.mkdtemp(prefix="emf", dir="/tmp"))
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes = {}
        self.board_homes = {}
        self.dying = []  # node ids of boards killed, until the GCS declares them dead

    def env(self, board=None) -> dict:
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        env.pop("RAY_ADDRESS", None)
        if board is not None:
            home = self.root / board
            cfg = home / "config" / "edgemt"
            data = home / "data" / "edgemt"
            cfg.mkdir(parents=True, exist_ok=True)
            data.mkdir(parents=True, exist_ok=True)
            (cfg / "config.toml").write_text(f'[envs]\ntflite = "{edgemt_testlib.REAL_ENVS["tflite"]}"\n')
            models = data / "models"
            if not models.exists():
                models.symlink_to(Path(edgemt_testlib.REAL_DATA_HOME) / "edgemt" / "models")
            env.update(XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
            self.board_homes[board] = home
        return env

    def start(self):
        head = Node("head", ["--head", "--port", str(self.port), "--include-dashboard", "false",
                             "--temp-dir", str(self.ray_tmp)],
                    self.env(), self.root / "head.log")
        self.nodes["head"] = head
        head.wait_started()
        for b in BOARDS:  # one at a time: three raylets starting at once overload 2 cores
            self.add_board(b)
            self.nodes[b].wait_started()

    def node_table(self) -> list:
        """The GCS's node table ([{NodeID, Alive, Resources}]), read by a short process that
        talks to the GCS only (a driver would attach to a raylet, maybe a dead one)."""
        r = subprocess.run([sys.executable, "-c", NODE_TABLE, self.address], capture_output=True, text=True,
                           timeout=120, env=self.env())
        if r.returncode != 0:
            raise AssertionError(f"reading the GCS node table failed:\n{r.stderr[-3000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def node_ids(self, board) -> list:
        return [n["NodeID"] for n in self.node_table() if n["Alive"] and f"board:{board}" in n["Resources"]]

    def kill_board(self, b):
        """The board's Ray node is gone at once (unplugged): every process of its session. Its
        node stays 'alive' in the GCS until the health checks fail (~15-30 s); a driver
        started before that may attach to the dead raylet on this machine's IP (all nodes
        share it here; a real board is its own machine) and die at once, so the next head
        waits for it to be declared dead (settle)."""
        self.dying += self.node_ids(b)
        self.nodes[b].kill()

    def settle(self, timeout=180):
        """Waits until every node killed by kill_board is declared dead by the GCS."""
        end = time.monotonic() + timeout
        while self.dying:
            alive = {n["NodeID"] for n in self.node_table() if n["Alive"]}
            self.dying = [n for n in self.dying if n in alive]
            if not self.dying:
                return
            if time.monotonic() > end:
                raise AssertionError(f"killed Ray nodes still alive in the GCS after {timeout} s: {self.dying}")
            time.sleep(1)

    def add_board(self, b):
        res = json.dumps({"edgemt": 1, f"board:{b}": 1})
        # (a worker node takes the head's temp dir)
        self.nodes[b] = Node(b, ["--address", self.address, "--resources", res],
                             self.env(b), self.root / f"{b}.log")

    def stop(self):
        left = []
        for name in [b for b in self.nodes if b != "head"] + ["head"]:
            left += self.nodes[name].stop()
        shutil.rmtree(self.ray_tmp, ignore_errors=True)
        return left


def fleet_edgemt(cluster, *args, timeout=300, **kw):
    """The real `edgemt` as the head runs it (RAY_ADDRESS names the test's cluster)."""
    cluster.settle()
    env = {**os.environ, "RAY_ADDRESS": cluster.address, "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([edgemt_testlib.EDGEMT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, env=env, **kw)
