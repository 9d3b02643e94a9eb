"""The generalist (TL-DIRP): cell-agnostic requirement features, shared networks that never learn
from their held-out cells, zero-shot and fine-tuned learners in the transfer batch, and the study's
comparison."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from helpers import TINY_PRETRAIN, tiny_scenario
from pyslice import Scenario
from pyslice.learn.generalist import load_generalists, requirement_features, train_generalists, with_features
from pyslice.study.config import ReproduceConfig, cell_groups, generalist_folds

SHORT = dataclasses.replace(TINY_PRETRAIN, exploration_steps=20, training_steps=20, evaluation_steps=4)


def test_requirement_features_are_log2_ratios_to_the_median_cell():
    sc = Scenario.paper()
    phi, d = sc.requirement_matrices()
    f = requirement_features(sc)
    assert f.shape == (sc.n_cells, 2 * sc.n_slices)
    # two groups of six cells: the median of each slice is the mean of the two groups' values
    for k in range(sc.n_cells):
        for n in range(sc.n_slices):
            a, b = sorted(set(phi[:, n]))[0], sorted(set(phi[:, n]))[-1]
            assert f[k, n] == pytest.approx(np.log2(phi[k, n] / ((a + b) / 2)), rel=1e-6)
    # the same within a group; the group that asks more has the larger feature
    g0, g1 = cell_groups(sc)
    assert np.allclose(f[g0], f[g0[0]])
    N = sc.n_slices
    assert np.array_equal(np.sign(f[g0[0], :N] - f[g1[0], :N]), np.sign(phi[g0[0]] - phi[g1[0]]))
    homogeneous = dataclasses.replace(sc, requirements=dataclasses.replace(sc.requirements, site_profile=(0,)))
    assert not requirement_features(homogeneous).any()


def test_with_features_appends_each_cells_row():
    obs = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    feats = np.array([[10.0], [20.0], [30.0]], dtype=np.float32)
    x = with_features(obs, feats)
    assert x.shape == (2, 3, 5) and np.array_equal(x[..., :4], obs) and np.array_equal(x[1, :, 4], [10, 20, 30])


def test_a_generalist_stores_only_its_training_cells(tmp_path):
    sc = tiny_scenario()
    g0, g1 = cell_groups(sc)
    gen = train_generalists(sc, SHORT, [g0, [g1[0]]], tmp_path)
    K, stored_steps = sc.n_cells, SHORT.exploration_steps + SHORT.training_steps
    assert list(gen.replay.size) == [(K - len(g0)) * stored_steps, (K - 1) * stored_steps]
    feats = requirement_features(sc)
    n = gen.replay.size[0]
    # generalist 0 held out group 0: every stored state carries group 1's requirements
    assert np.allclose(gen.replay.obs[0, :n, -feats.shape[1]:], feats[g1[0]])
    assert np.allclose(gen.replay.next_obs[0, :n, -feats.shape[1]:], feats[g1[0]])
    # one shared network per fold, on the cell's state followed by its requirements
    assert gen.agent.n_agents == 2 and gen.agent.obs_dim == 4 * sc.n_slices + feats.shape[1]
    assert gen.row_for(g0[2]) == 0 and gen.row_for(g1[0]) == 1
    curves = np.load(tmp_path / "generalist.npz")
    assert curves["train_reward"].shape == (SHORT.total_steps, 2)
    assert np.isfinite(curves["held_out_reward"]).all()
    loaded = load_generalists(tmp_path)
    assert torch.equal(loaded.agent.actor, gen.agent.actor) and loaded.held_out == [g0, [g1[0]]]


def test_generalists_are_deterministic_and_seeded(tmp_path):
    sc = tiny_scenario()
    a = train_generalists(sc, SHORT, [[0]], tmp_path / "a")
    b = train_generalists(sc, SHORT, [[0]], tmp_path / "b")
    c = train_generalists(sc, dataclasses.replace(SHORT, seed=SHORT.seed + 1), [[0]], tmp_path / "c")
    assert torch.equal(a.agent.actor, b.agent.actor) and torch.equal(a.agent.critic, b.agent.critic)
    assert not torch.equal(a.agent.actor, c.agent.actor)


@pytest.mark.parametrize("held_out, match", [([], "non-empty"), ([[0, 99]], r"\[0, 11\]"),
                                             ([list(range(12))], "every cell"), ("0,1", "non-empty")])
def test_bad_folds_are_refused_before_anything_is_written(tmp_path, held_out, match):
    with pytest.raises(ValueError, match=match):
        train_generalists(tiny_scenario(), SHORT, held_out, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_generalist_config_fields_and_folds():
    sc = Scenario.paper()
    assert generalist_folds(sc, ReproduceConfig(targets=(0, 3, 5))) == [[0], [3], [5]]
    folds = generalist_folds(sc, ReproduceConfig(targets=(0, 1, 2, 3, 4), generalist_folds=2))
    assert folds == [[0, 2, 4], [1, 3]]
    assert generalist_folds(sc, ReproduceConfig(targets=(0, 1), generalist_folds=5)) == [[0], [1]]
    for field, value in (("generalist_folds", 0), ("generalist_folds", True), ("generalist_buffer", 0),
                         ("generalist", "yes")):
        with pytest.raises(ValueError, match=field):
            ReproduceConfig(**{field: value})


def test_zero_shot_and_fine_tuned_agree_without_training_and_batches_do_not_matter(pretrained_run, tmp_path):
    """With no training steps both generalist learners are the generalist acting greedily; the
    TL learner beside them gives the same bits as in a batch of its own."""
    from pyslice.study.transfer_runs import GENERALIST_LEARNERS, TransferSpec, run_transfers
    sc = tiny_scenario()
    train_generalists(sc, SHORT, [[2], [5]], tmp_path / "gen")
    spec = TransferSpec(2, (7,), "integrated", False, None, str(tmp_path / "gen"))
    greedy = run_transfers(pretrained_run, [spec], steps=0, eval_steps=12)[0]
    assert greedy.labels == ["source 7", *GENERALIST_LEARNERS]
    zero, tuned = greedy.row(GENERALIST_LEARNERS[0]), greedy.row(GENERALIST_LEARNERS[1])
    assert np.array_equal(greedy.target_reward[zero], greedy.target_reward[tuned])
    kw = dict(steps=30, eval_steps=5)
    both = run_transfers(pretrained_run, [spec, TransferSpec(5, (1,), "integrated", True)], **kw)
    alone = run_transfers(pretrained_run, [TransferSpec(2, (7,), "integrated", False)], **kw)[0]
    assert np.array_equal(both[0].target_reward[0], alone.target_reward[0])
    gen_alone = run_transfers(pretrained_run, [spec], **kw)[0]
    assert np.array_equal(both[0].target_reward, gen_alone.target_reward)
    # fine-tuning moves the learner away from the generalist
    assert not np.array_equal(both[0].max_delay_ms[zero], both[0].max_delay_ms[tuned])


def test_a_missing_generalist_is_refused(pretrained_run, tmp_path):
    from pyslice.study.transfer_runs import TransferSpec, run_transfers
    with pytest.raises(ValueError, match="no trained generalist"):
        run_transfers(pretrained_run, [TransferSpec(2, (), "integrated", False, None, str(tmp_path / "none"))])


@pytest.mark.slow
def test_the_study_compares_the_generalist_with_verdicts(tmp_path):
    from pyslice.base.statistics import VERDICTS
    from pyslice.study.executor import SerialExecutor
    from pyslice.study.experiment import reproduce
    from pyslice.study.generalist_study import COMPARED
    from pyslice.study.results import StudyResults
    cfg = dataclasses.replace(ReproduceConfig.quick(), seeds=2, targets=(0, 3), generalist=True, ablations=False,
                              all_sources=False, sample_efficiency=False)
    results = reproduce(Scenario.paper(), cfg, tmp_path, executor=SerialExecutor(), progress=False)
    g = results["generalist"]
    assert list(g["methods"]) == list(COMPARED)
    assert len(g["claims"]) == 8 and all(c["verdict"] in VERDICTS for c in g["claims"])
    for interval in g["differences"].values():
        assert interval["n_seeds"] == 2 and interval["lo"] <= interval["mean"] <= interval["hi"]
    # the table's rows are the per-seed means over targets of what the files hold
    from pyslice.study.transfer import TransferResult
    ev = slice(cfg.tl_steps, cfg.tl_steps + cfg.train.evaluation_steps)
    per_seed = [np.mean([TransferResult.load(tmp_path / f"seed{s}" / "transfer" / f"target{k}" / "generalist")
                         .target_reward[-1, ev].mean() for k in (0, 3)]) for s in range(2)]
    assert g["methods"]["generalist fine-tuned"]["eval_reward"]["mean"] == pytest.approx(np.mean(per_seed))
    # DRL from scratch's early window starts after its exploration (equal training steps)
    E, w = cfg.train.exploration_steps, cfg.early_window
    scratch = [np.mean([TransferResult.load(tmp_path / f"seed{s}" / "transfer" / f"target{k}" / "integrated")
                        .target_reward[-1, E:E + w].mean() for k in (0, 3)]) for s in range(2)]
    assert g["methods"]["DRL from scratch"]["early_reward"]["mean"] == pytest.approx(np.mean(scratch))
    # held-out: each seed's generalists were kept from their own target
    assert load_generalists(tmp_path / "seed0" / "generalist").held_out == [[0], [3]]
    assert StudyResults.from_dict(results).generalist is not None
    assert "## The authors' generalist (TL-DIRP)" in (tmp_path / "report.md").read_text()
