"""The CLI's settings flags (--set, --config, --grid, --executor, --ray-address, --tensorboard):
the effective config.toml of a run reads back to the same run, and bad input is a clear error
that writes nothing."""
from __future__ import annotations

import json
import tomllib

import pytest

from pyslice.cli import main


SHORT = ["--exploration-steps", "10", "--training-steps", "10", "--evaluation-steps", "2", "--quiet"]


def test_train_set_writes_the_effective_config_and_config_reads_it_back(tmp_path, small_toml):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["train", "--scenario", str(small_toml), "--out", str(a), *SHORT,
                 "--set", "td3.actor_lr=1e-4", "--set", "train.td3.batch_size=8", "--set", "scenario.radio.tx_power_dbm=43"]) == 0
    run = json.loads((a / "run.json").read_text())
    assert run["train"]["td3"]["actor_lr"] == 1e-4 and run["train"]["td3"]["batch_size"] == 8
    assert run["scenario"]["radio"]["tx_power_dbm"] == 43.0 and run["train"]["training_steps"] == 10
    effective = tomllib.loads((a / "config.toml").read_text())
    assert effective["train"]["td3"]["actor_lr"] == 1e-4 and effective["train"]["training_steps"] == 10
    # the effective file alone reproduces the run's settings (no flags, paper scenario as the base)
    assert main(["train", "--config", str(a / "config.toml"), "--out", str(b), "--quiet"]) == 0
    assert json.loads((b / "run.json").read_text()) == run
    assert (a / "train_log.csv").read_bytes() == (b / "train_log.csv").read_bytes()


@pytest.mark.parametrize("extra, message", [
    (["--set", "td3.actor_lrr=1e-4"], "did you mean 'td3.actor_lr'"),
    (["--set", "td3.actor_lr=-1"], "actor_lr must be > 0"),
    (["--set", "train.training_steps=ten"], "train.training_steps must be an int"),
    (["--set", "td3.actor_lr"], "section.key=value"),
    (["--config", "missing.toml"], "existing TOML file"),
    (["--training-steps", "-1"], "training_steps must be an int >= 0"),
])
def test_train_rejects_bad_settings_before_writing(tmp_path, small_toml, capsys, extra, message):
    out = tmp_path / "run"
    assert main(["train", "--scenario", str(small_toml), "--out", str(out), *SHORT, *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("extra, message", [
    (["--set", "reproduce.seedz=2"], "did you mean 'reproduce.seeds'"),
    (["--set", "vae.epochs=0"], "epochs"),
    (["--set", "reproduce.targets=[12]"], "reproduce.targets must be cells in [0, 11]"),
    (["--executor", "spark"], "invalid choice"),
    (["--ray-address", "auto"], "--ray-address needs --executor ray"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--executor", "ray", "--workers", "2"], "--workers applies to the local executor"),
])
def test_reproduce_rejects_bad_flags_before_writing(tmp_path, capsys, extra, message):
    out = tmp_path / "rep"
    try:
        rc = main(["reproduce", "--quick", "--out", str(out), "--quiet", *extra])
    except SystemExit as exc:  # argparse's own errors (invalid choice)
        rc = exc.code
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_reproduce_tensorboard_flag_needs_the_extra(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name.startswith("tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    out = tmp_path / "rep"
    assert main(["reproduce", "--quick", "--out", str(out), "--quiet", "--tensorboard", str(tmp_path / "tb")]) == 2
    assert "pyslice[tensorboard]" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "tb").exists()


@pytest.mark.parametrize("grid, message", [
    ([], "--grid is required"),
    (["--grid", "td3.actor_lr"], "section.key=v1"),
    (["--grid", "td3.actor_lrr=1e-4,2e-4"], "did you mean 'td3.actor_lr'"),
    (["--grid", "td3.actor_lr=1e-4,-1"], "actor_lr must be > 0"),
    (["--grid", "td3.actor_lr=1e-4,1e-4"], "repeated values"),
])
def test_sweep_rejects_bad_grids_before_writing(tmp_path, capsys, grid, message):
    out = tmp_path / "sweep"
    assert main(["sweep", "--quick", "--out", str(out), "--quiet", *grid]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_transfer_rejects_bad_settings_before_writing(tmp_path, pretrained_run, capsys):
    for extra, message in ((["--set", "transfer.stepz=3"], "did you mean 'transfer.steps'"),
                           (["--set", "td3.actor_hidden=[8, 8]"], "actor_hidden"),
                           (["--source", "x"], "--source must be 'auto' or a cell index")):
        out = tmp_path / "tr"
        assert main(["transfer", "--run", str(pretrained_run), "--target", "3", "--source", "1", "--steps", "5",
                     "--out", str(out), *extra]) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()


def test_transfer_set_td3_applies_to_the_new_learners(tmp_path, pretrained_run):
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["transfer", "--run", str(pretrained_run), "--target", "3", "--source", "1", "--steps", "12",
              "--eval-steps", "2"]
    assert main([*common, "--out", str(a)]) == 0
    assert main([*common, "--out", str(b), "--set", "td3.actor_lr=0.05"]) == 0
    ra = json.loads((a / "transfer.json").read_text())
    rb = json.loads((b / "transfer.json").read_text())
    assert ra["sources"] == rb["sources"] == [1]
    assert tomllib.loads((b / "config.toml").read_text())["train"]["td3"]["actor_lr"] == 0.05
    import numpy as np

    # another learning rate, another learner: the new cell's KPIs differ (the first step, before any
    # update, is the same)
    ka, kb = np.load(a / "transfer.npz"), np.load(b / "transfer.npz")
    assert ka["max_delay_ms"][0, 0] == kb["max_delay_ms"][0, 0]
    assert not np.array_equal(ka["max_delay_ms"], kb["max_delay_ms"])
