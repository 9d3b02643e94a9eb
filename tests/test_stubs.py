"""``pyslice/_core.pyi`` stays true to the compiled core: mypy's stubtest compares every name, class,
property and function of the stub with the extension module (pybind11 hides argument lists from
introspection, so names, kinds and read-only properties are what it checks)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import mypy.stubtest  # noqa: F401  (the test extra installs mypy; fail here if it is missing)

ALLOWLIST = Path(__file__).resolve().parent / "stubtest_allowlist.txt"


@pytest.mark.slow
def test_core_stub_matches_the_extension(tmp_path):
    # run outside the source tree, so the installed package (with its compiled core) is checked
    out = subprocess.run([sys.executable, "-m", "mypy.stubtest", "pyslice._core", "--allowlist", str(ALLOWLIST)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
