"""A pytest plugin that runs the tests on another build of the core (a sanitizer build, say):
``PYSLICE_CORE=/path/to/_core.cpython-...so pytest -p core_override ...`` (with tools/ on
PYTHONPATH) loads that extension as ``pyslice._core`` before anything imports pyslice."""
from __future__ import annotations

import importlib.util
import os
import sys

_path = os.environ.get("PYSLICE_CORE")
if _path:
    _spec = importlib.util.spec_from_file_location("pyslice._core", _path)
    if _spec is None or _spec.loader is None:
        raise ImportError(f"PYSLICE_CORE={_path!r} is not a loadable extension")
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    sys.modules["pyslice._core"] = _module
