"""The core under the sanitizers (tools/sanitize.sh): AddressSanitizer + UndefinedBehaviorSanitizer on
the tests that drive it hardest (single simulators, batches on threads and shared worlds, saved and
restored states, pickled copies, the load coupling against its reference, the fuzz harness's
fixed cases), ThreadSanitizer on the worker pool and shared worlds. Each kind is its own build of the
core; any finding aborts the sanitized process, so the run's exit status is the verdict.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASAN_SUBSET = ["tests/test_simulator.py", "tests/test_shared_world.py", "tests/test_simulator_state.py",
               "tests/test_pickle.py", "tests/test_link_update.py", "tests/test_core_vs_reference.py",
               "tests/test_fuzz.py"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler to build the sanitized core with")
@pytest.mark.parametrize("kind, tests, finding", [
    ("address,undefined", ASAN_SUBSET, ("ERROR: AddressSanitizer", "runtime error:")),
    ("thread", [], ("WARNING: ThreadSanitizer", "ThreadSanitizer:")),  # the script's own list: pool, shared worlds
])
def test_the_core_is_clean_under_the_sanitizers(kind, tests, finding):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("PYSLICE_SIMD", None)
    done = subprocess.run(["bash", str(ROOT / "tools" / "sanitize.sh"), kind, *tests],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    report = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, report
    assert not any(marker in report for marker in finding), report
    assert " passed" in done.stdout, report
