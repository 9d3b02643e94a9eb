"""The kernels' SIMD levels: the chosen one is reported with its reason, PYSLICE_SIMD asks for a
lower one, every level this CPU runs gives the same results to within rounding (the levels are not
bit-identical: FMA contraction and vector widths change the last bits), and a level is deterministic
(same level, same bits)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import pyslice

RUN = r"""
import hashlib, json, sys
import numpy as np
import pyslice
from pyslice.sim.simulator import Simulator
from helpers import with_ues
sim = Simulator(with_ues(6), 5)
out = []
for _ in range(25):
    r = sim.step_policy("traffic-aware")
    out.append(np.concatenate([r.throughput.ravel(), r.delay.ravel(), r.sinr_db[np.isfinite(r.sinr_db)]]))
out = np.concatenate(out)
print(json.dumps({"info": pyslice.build_info(), "values": out.tolist(),
                  "hash": hashlib.sha256(out.tobytes()).hexdigest()}))
"""
TESTS = os.path.dirname(os.path.abspath(__file__))


def run_at(level: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYSLICE_SIMD"}
    if level is not None:
        env["PYSLICE_SIMD"] = level
    env["PYTHONPATH"] = TESTS + os.pathsep + env.get("PYTHONPATH", "")
    # Run outside the checkout: from its root, the source tree (no _core) would shadow the installed package.
    done = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, cwd=TESTS)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_build_info_names_the_running_level_and_why():
    info = pyslice.build_info()
    assert info["version"] == pyslice.__version__
    assert info["build"] in ("portable", "native")
    assert info["simd_level"] in info["simd_levels_compiled"]
    assert info["simd_level"] in info["simd_levels_cpu"]
    assert info["simd_levels_compiled"][0] == "baseline" and info["simd_levels_cpu"][0] == "baseline"
    if "PYSLICE_SIMD" not in os.environ:  # the automatic choice: the best both have
        both = [lv for lv in info["simd_levels_compiled"] if lv in info["simd_levels_cpu"]]
        assert info["simd_level"] == both[-1] and "highest level" in info["simd_reason"]


def test_every_level_agrees_and_each_is_deterministic():
    available = [lv for lv in pyslice.build_info()["simd_levels_compiled"] if lv in pyslice.build_info()["simd_levels_cpu"]]
    results = {lv: run_at(lv) for lv in available}
    reference = np.array(results["baseline"]["values"])
    for level, result in results.items():
        assert result["info"]["simd_level"] == level and result["info"]["simd_reason"] == f"PYSLICE_SIMD={level}"
        np.testing.assert_allclose(np.array(result["values"]), reference, rtol=1e-9, atol=1e-12, err_msg=level)
    top = available[-1]
    assert run_at(top)["hash"] == results[top]["hash"], "a level must give the same bits every run"


def test_an_unknown_level_falls_back_with_a_reason():
    odd = run_at("sse9")["info"]
    assert "PYSLICE_SIMD='sse9' ignored" in odd["simd_reason"]
    assert odd["simd_level"] == [lv for lv in odd["simd_levels_compiled"] if lv in odd["simd_levels_cpu"]][-1]


def test_an_unavailable_level_falls_back_with_a_reason():
    info = pyslice.build_info()
    missing = [lv for lv in ("avx2", "avx512") if lv not in info["simd_levels_cpu"] or lv not in info["simd_levels_compiled"]]
    if not missing:
        pytest.skip("this CPU and build have every level: none to ask for in vain")
    asked = run_at(missing[-1])["info"]
    assert asked["simd_level"] != missing[-1] and "asked for a level" in asked["simd_reason"]
