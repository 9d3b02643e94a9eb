"""Failure injection on a small study: a process killed after any of its writes resumes to the
tables of an uninterrupted run; a failing write (full disk) keeps the finished artifacts and names
the task; truncated, altered or missing artifacts are found (``pyslice verify``) and recomputed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path


import pytest
from helpers import tiny_scenario

from pyslice.base import atomic
from pyslice.base.artifacts import verify_tree
from pyslice.cli import main
from pyslice.study.executor import SerialExecutor, TaskFailures
from pyslice.study.experiment import ReproduceConfig, reproduce
from pyslice.learn.train import TrainConfig
from pyslice.learn.vae import VAEConfig

SMALL = ReproduceConfig(seeds=2, train=TrainConfig(exploration_steps=16, training_steps=16, evaluation_steps=8,
                                                   checkpoint_every=10),
                        tl_steps=12, samples_per_agent=16, target_samples=8, vae=VAEConfig(epochs=2),
                        early_window=6, targets=(0, 3), sweep_targets=(3,), ablations=True, figures=False)
KEEP = ("table", "differences", "claims", "per_cell", "per_seed", "ablation_measures", "ablation_strategies")


def _tables(results):
    return json.loads(json.dumps({k: results[k] for k in KEEP}, sort_keys=True, default=str))


def _run(out, resume=False):
    return reproduce(tiny_scenario(), SMALL, out, executor=SerialExecutor(), resume=resume, progress=False)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run and the number of atomic writes it made."""
    out = tmp_path_factory.mktemp("reference") / "run"
    before = atomic._writes
    results = _run(out)
    return out, _tables(results), atomic._writes - before


KILL = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from test_failures import _run
    _run(sys.argv[1], resume=True)
""")
RESUME = KILL + "\nimport json\nfrom test_failures import _tables\nprint(json.dumps(_tables(_run(sys.argv[1], resume=True))))\n"


def _spawn(script, out, env=None):
    # run outside the source tree: `python -c` puts its working directory first on the path
    return subprocess.Popen([sys.executable, "-c", script, str(out), os.path.dirname(__file__)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(out).parent)


@pytest.mark.slow
def test_kill_at_ten_points_then_resume_gives_the_same_tables(reference, tmp_path):
    _, want, n_writes = reference
    assert n_writes >= 40
    points = sorted({round(1 + i * (n_writes - 2) / 9) for i in range(10)})
    assert len(points) == 10
    for pair in (points[i:i + 2] for i in range(0, len(points), 2)):  # two processes at a time
        kills = {n: _spawn(KILL, tmp_path / f"kill{n}", {**os.environ, atomic.FAULT_ENV: str(n)}) for n in pair}
        for n, proc in kills.items():
            _, err = proc.communicate()
            assert proc.returncode == 86, (n, err[-2000:])  # died right after its n-th write
        resumes = {n: _spawn(RESUME, tmp_path / f"kill{n}") for n in pair}
        for n, proc in resumes.items():
            out, err = proc.communicate()
            assert proc.returncode == 0, (n, err[-2000:])
            assert json.loads(out.strip().splitlines()[-1]) == want, f"killed after write {n}: tables differ"
            assert verify_tree(tmp_path / f"kill{n}")[1] == []


def test_a_failing_write_keeps_finished_artifacts_and_names_the_task(reference, tmp_path, monkeypatch):
    _, want, n_writes = reference
    out = tmp_path / "full"
    real = atomic.atomic_open
    calls = {"n": 0}

    def full_disk(path, mode="w", **kwargs):
        calls["n"] += 1
        if calls["n"] > n_writes // 2:
            raise OSError(28, "No space left on device", str(path))
        return real(path, mode, **kwargs)

    monkeypatch.setattr(atomic, "atomic_open", full_disk)
    with pytest.raises((TaskFailures, OSError)) as info:
        _run(out)
    assert "No space left on device" in str(info.value)
    if isinstance(info.value, TaskFailures):
        assert all(name.startswith("run_task") for name, _ in info.value.failures)
    assert verify_tree(out)[1] == []  # what was finished is intact
    monkeypatch.setattr(atomic, "atomic_open", real)
    assert _tables(_run(out, resume=True)) == want


@pytest.mark.parametrize("damage", ["truncate", "alter", "delete"])
def test_damaged_artifacts_are_found_and_recomputed(reference, tmp_path, capsys, damage):
    import shutil

    src, want, _ = reference
    out = tmp_path / "run"
    shutil.copytree(src, out)
    assert main(["verify", str(out)]) == 0
    victim = out / "seed1" / "similarity" / "distances.npz"
    data = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "alter":
        victim.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:
        victim.unlink()
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    report = capsys.readouterr().out
    word = {"truncate": "truncated", "alter": "altered", "delete": "missing"}[damage]
    assert f"seed1/similarity: distances.npz is {word}" in report
    results = _run(out, resume=True)
    assert "seed1/similarity: distances.npz is" in capsys.readouterr().err  # said which file
    assert _tables(results) == want
    assert main(["verify", str(out)]) == 0


def test_verify_refuses_a_directory_without_units(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 1
    assert "no finished units" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing")]) == 2
