"""The CLI commands (simulate, train, evaluate, similarity, transfer) write what they promise."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from pyslice.cli import main


def test_simulate_csv_summary_and_plots(tmp_path, small_toml):
    out = tmp_path / "run"
    rc = main(["simulate", "--scenario", str(small_toml), "--steps", "12", "--seed", "3",
               "--policy", "traffic-aware", "--out", str(out), "--plot", "--quiet"])
    assert rc == 0
    rows = list(csv.DictReader(open(out / "kpis.csv")))
    assert len(rows) == 12 * 12 * 4
    shares = np.array([float(r["share"]) for r in rows]).reshape(12, 12, 4)
    np.testing.assert_allclose(shares.sum(axis=2), 1.0, atol=1e-12)
    reward = np.array([float(r["reward"]) for r in rows]).reshape(12, 12, 4)[:, :, 0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 12
    assert summary["mean_reward"] == pytest.approx(reward.mean(), rel=1e-12)
    assert 0.0 <= summary["mean_reward"] <= 1.0
    for name in ("network.png", "kpis.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_simulate_npz_matches_csv(tmp_path, small_toml):
    a, b = tmp_path / "a", tmp_path / "b"
    for out, fmt in ((a, "csv"), (b, "npz")):
        assert main(["simulate", "--scenario", str(small_toml), "--steps", "5", "--seed", "1", "--policy", "equal",
                     "--out", str(out), "--format", fmt, "--quiet"]) == 0
    data = np.load(b / "kpis.npz")
    rows = list(csv.DictReader(open(a / "kpis.csv")))
    tput = np.array([float(r["throughput_bps"]) for r in rows]).reshape(data["throughput"].shape)
    np.testing.assert_array_equal(tput, data["throughput"])
    np.testing.assert_allclose(data["shares"], 0.25)


def test_simulate_rejects_bad_arguments(tmp_path, capsys):
    assert main(["simulate", "--scenario", "paper", "--steps", "0", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    with pytest.raises(SystemExit):
        main(["simulate", "--scenario", str(tmp_path / "missing.toml"), "--steps", "3", "--quiet"])
    bad = tmp_path / "bad.toml"
    bad.write_text("[radio]\ntx_powr_dbm = 40.0\n")
    assert main(["simulate", "--scenario", str(bad), "--steps", "3", "--out", str(tmp_path / "y"), "--quiet"]) == 2
    assert "tx_powr_dbm" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_train_resume_and_evaluate_commands(tmp_path, small_toml, capsys):
    out = tmp_path / "train"
    args = ["train", "--scenario", str(small_toml), "--out", str(out), "--seed", "2", "--exploration-steps", "20",
            "--training-steps", "20", "--evaluation-steps", "5", "--checkpoint-every", "10", "--quiet"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 45 and summary["evaluation_steps"] == 5
    assert main(args) == 2  # the directory already holds a run
    assert "--resume" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0  # a finished run resumes to the same end
    capsys.readouterr()
    assert main(["evaluate", "--policy", str(out), "--steps", "4", "--out", str(out)]) == 0
    result = json.loads((out / "evaluation.json").read_text())
    assert result["steps"] == 4 and 0.0 <= result["mean_reward"] <= 1.0
    assert main(["evaluate", "--policy", "equal", "--scenario", str(small_toml), "--steps", "3"]) == 0
    assert main(["evaluate", "--policy", str(tmp_path / "nowhere"), "--steps", "3"]) == 2


def test_similarity_and_transfer_commands(tmp_path, small_toml, capsys):
    run = tmp_path / "run"
    assert main(["train", "--scenario", str(small_toml), "--out", str(run), "--exploration-steps", "20",
                 "--training-steps", "20", "--evaluation-steps", "5", "--quiet"]) == 0
    # --source auto needs the distance matrix first; errors write nothing
    assert main(["transfer", "--run", str(run), "--target", "3", "--steps", "10", "--eval-steps", "2"]) == 2
    for bad in (["--source", "3"], ["--source", "12"], ["--strategy", "magic"], ["--target", "12"]):
        assert main(["transfer", "--run", str(run), "--target", "3", "--steps", "10", *bad]) == 2
    assert main(["transfer", "--run", str(tmp_path / "missing"), "--target", "3", "--source", "1"]) == 2
    assert not (run / "transfer").exists()
    capsys.readouterr()
    assert main(["similarity", "--run", str(run), "--samples", "24", "--epochs", "3"]) == 0
    # --source auto picks by the paper's measure (eqs. 7 + 9)
    D = np.loadtxt(run / "similarity" / "distance_vae_kl_equal_sigma.csv", delimiter=",", skiprows=1,
                   usecols=range(1, 13))
    assert D.shape == (12, 12) and np.all(np.diag(D) == 0) and np.isfinite(D).all()
    ranked = json.loads((run / "similarity" / "ranked_sources.json").read_text())
    nearest = ranked["vae-kl-equal-sigma"]["3"][0]
    assert nearest != 3 and D[nearest, 3] == min(D[i, 3] for i in range(12) if i != 3)
    assert main(["transfer", "--run", str(run), "--target", "3", "--steps", "10", "--eval-steps", "2"]) == 0
    result = json.loads((run / "transfer" / f"target3_integrated_from{nearest}" / "transfer.json").read_text())
    assert result["sources"] == [nearest] and result["labels"][-1] == "scratch"


def test_reproduce_command_validates_before_running(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["reproduce", "--quick", "--seeds", "0", "--out", str(out), "--quiet"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):  # argparse-style exit for a missing scenario file
        main(["reproduce", "--scenario", str(tmp_path / "nope.toml"), "--out", str(out)])
    assert not out.exists()


@pytest.mark.parametrize("targets", ["0", "13", "1,x", "", "1;4"])
def test_reproduce_rejects_bad_targets(tmp_path, capsys, targets):
    out = tmp_path / "rep"
    assert main(["reproduce", "--quick", "--targets", targets, "--out", str(out), "--quiet"]) == 2
    assert "--targets" in capsys.readouterr().err
    assert not out.exists()


def test_parse_targets():
    from pyslice.commands.common import parse_targets

    assert parse_targets("all", 12) == "all" and parse_targets(" auto", 57) == "auto"
    assert parse_targets("4,1,4", 12) == (0, 3)
