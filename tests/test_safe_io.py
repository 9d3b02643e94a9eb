"""Run directories load without unpickling: a crafted policy.pt whose pickle would run code is
refused (the code never runs); pyslice's own files round-trip exactly."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pyslice.base import safe_io
from pyslice.cli import main
from pyslice.learn.train import load_policy


class _Payload:
    """Unpickling this calls ``os.system`` (creates the marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _crafted_policy(folder: Path, marker: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "policy.pt"
    torch.save({"agent": _Payload(marker), "train": {}, "scenario": {}}, path)
    return path


def test_a_crafted_policy_is_refused_and_its_code_never_runs(tmp_path, capsys):
    marker = tmp_path / "pwned"
    path = _crafted_policy(tmp_path / "run", marker)
    with pytest.raises(safe_io.UnsafeFile, match="policy.pt holds objects other than tensors"):
        load_policy(path)
    assert main(["evaluate", "--policy", str(tmp_path / "run"), "--steps", "2"]) == 2
    assert "refused" in capsys.readouterr().err
    assert not marker.exists()
    # the same file through a plain unpickler would have run the command (the test is real)
    subprocess.run([sys.executable, "-c", f"import torch; torch.load({str(path)!r}, weights_only=False)"],
                   check=False, capture_output=True)
    assert marker.exists()


def test_a_crafted_checkpoint_is_refused_by_transfer_and_resume(tmp_path, capsys):
    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    _crafted_policy(run, marker)
    (run / "policy.pt").rename(run / "checkpoint.pt")
    (run / "run.json").write_text('{"scenario": {}, "train": {}}')
    assert main(["transfer", "--run", str(run), "--target", "1", "--source", "2", "--steps", "2"]) == 2
    assert "checkpoint.pt" in capsys.readouterr().err
    assert not marker.exists()


@settings(max_examples=30, deadline=None)
@given(arrays=st.lists(hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_]),
                                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)), max_size=4),
       scalars=st.lists(st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=False), st.text(max_size=5),
                                  st.none(), st.booleans(), st.binary(max_size=5)), max_size=4))
def test_round_trip_is_exact(tmp_path_factory, arrays, scalars):
    obj = {"arrays": arrays, "nested": {"t": tuple(scalars), "np_scalar": np.float64(1.5), "tensor": torch.arange(3)}}
    path = tmp_path_factory.mktemp("io") / "x.pt"
    safe_io.save(obj, path)
    back = safe_io.load(path)
    assert len(back["arrays"]) == len(arrays)
    for a, b in zip(arrays, back["arrays"]):
        assert isinstance(b, np.ndarray) and b.dtype == a.dtype and b.shape == a.shape
        np.testing.assert_array_equal(a, b)
    assert back["nested"]["t"] == tuple(scalars) and back["nested"]["np_scalar"] == 1.5
    assert torch.equal(back["nested"]["tensor"], torch.arange(3))


def test_convert_trusted_rewrites_an_old_pickled_file(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"obs": np.arange(4.0), "rng": np.random.default_rng(0).bit_generator.state}, path)
    with pytest.raises(safe_io.UnsafeFile):
        safe_io.load(path)
    safe_io.convert_trusted(path)
    back = safe_io.load(path)
    np.testing.assert_array_equal(back["obs"], np.arange(4.0))
