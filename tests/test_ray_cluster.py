"""The study on a real Ray cluster: a head node and a second node, each started by ``ray start`` as
separate processes on this machine, a driver running ``pyslice reproduce --executor ray
--ray-address HOST:PORT``. The results equal the local executor's byte for byte, and a study whose
second node is killed mid-run still finishes (its tasks are retried on the head) with the same
results. Needs the ``ray`` extra (CI installs it)."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a cluster and three studies

STUDY = ["reproduce", "--quick", "--seeds", "2", "--quiet"]
RAY = str(Path(sys.executable).with_name("ray"))
PYSLICE = str(Path(sys.executable).with_name("pyslice"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A head node (1 CPU) started with ``ray start --head``; worker nodes join with :meth:`add_node`."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.address = f"127.0.0.1:{_free_port()}"
        self.head = self._node(["--head", f"--port={self.address.split(':')[1]}", "--include-dashboard=false",
                                "--disable-usage-stats"], nodes=1)

    def _node(self, args: list[str], nodes: int) -> subprocess.Popen:
        """``ray start ARGS --block`` (1 CPU) in its own process group, so that killing the group kills
        the node and nothing else; returns once the cluster has ``nodes`` nodes."""
        node = subprocess.Popen([RAY, "start", *args, "--num-cpus=1", "--block"], env=self.env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while self.nodes() < nodes:
            if time.monotonic() > deadline or node.poll() is not None:
                kill(node)
                raise RuntimeError(f"the Ray cluster did not reach {nodes} node(s)")
            time.sleep(1)
        return node

    def nodes(self) -> int:
        out = subprocess.run([RAY, "status", f"--address={self.address}"], env=self.env, capture_output=True,
                             text=True, timeout=60).stdout
        active = out.split("Active:")[1].split("Pending:")[0] if "Active:" in out else ""
        return sum(line.strip().startswith("1 node_") for line in active.splitlines())

    def add_node(self) -> subprocess.Popen:
        """A second node joining the head."""
        return self._node([f"--address={self.address}"], nodes=2)


def kill(node: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Kill a node's process group (its raylet, workers and, for the head, the GCS) at once:
    SIGKILL as a crash does; SIGTERM to let ``ray start --block`` shut its node down cleanly first."""
    try:
        os.killpg(node.pid, sig)
        node.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(node.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    node.wait(timeout=60)


@pytest.fixture(scope="module")
def cluster():
    # token authentication, as Ray enables it by default: every process of the cluster shares the token
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    c = Cluster(env)
    try:
        yield c
    finally:
        kill(c.head, signal.SIGTERM)
        # the head leaves its address for ray.init() to find; later local instances must not join it
        marker = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        if marker.is_file() and marker.read_text().strip().endswith(c.address.split(":")[1]):
            marker.unlink()


@pytest.fixture(scope="module")
def local_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "study"
    subprocess.run([PYSLICE, *STUDY, "--workers", "2", "--out", str(out)], check=True, capture_output=True, timeout=600)
    return (out / "results.csv").read_bytes()


def _on_cluster(cluster: Cluster, out: Path) -> subprocess.Popen:
    return subprocess.Popen([PYSLICE, *STUDY, "--executor", "ray", "--ray-address", cluster.address, "--out", str(out)],
                            env=cluster.env, cwd=out.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_two_node_cluster_gives_the_local_results(cluster, local_csv, tmp_path):
    node = cluster.add_node()
    try:
        run = _on_cluster(cluster, tmp_path / "study")
        output, _ = run.communicate(timeout=600)
        assert run.returncode == 0, output[-3000:]
        assert (tmp_path / "study" / "results.csv").read_bytes() == local_csv
    finally:
        kill(node)


def test_the_study_survives_losing_a_node(cluster, local_csv, tmp_path):
    node = cluster.add_node()
    run = _on_cluster(cluster, tmp_path / "study")
    try:
        # both nodes at work in the longest phase: each seed's transfer task has started, one per node
        deadline = time.monotonic() + 300
        while not all((tmp_path / "study" / f"seed{s}" / "transfer").is_dir() for s in (0, 1)):
            assert time.monotonic() < deadline and run.poll() is None, "the study did not reach its transfer phase"
            time.sleep(0.1)
        time.sleep(1)
        assert run.poll() is None  # still running: the node dies with the transfer task it runs
        kill(node)
        output, _ = run.communicate(timeout=900)
        deadline = time.monotonic() + 120
        while cluster.nodes() != 1:  # the cluster saw the node die
            assert time.monotonic() < deadline, "the killed node is still listed as active"
            time.sleep(2)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, output[-3000:]
    assert (tmp_path / "study" / "results.csv").read_bytes() == local_csv
