"""TensorBoard logs (optional extra): what a training run and a reproduce study write, read back
with TensorBoard's own reader; a resumed run shows every step once; the install hint."""
from __future__ import annotations

import builtins
import json
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.backend.event_processing.plugin_event_accumulator import \
    EventAccumulator as ServerAccumulator  # noqa: E402

from pyslice.learn.td3 import TD3Config  # noqa: E402
from pyslice.learn.tensorboard import INSTALL_HINT, TrainLogger, require_tensorboard  # noqa: E402
from pyslice.study.results import Claim  # noqa: E402
from pyslice.study.tensorboard_logs import log_study  # noqa: E402
from pyslice.learn.train import LOG, Trainer, TrainConfig, log_header, read_log  # noqa: E402
from pyslice.study.transfer import TransferResult  # noqa: E402

from helpers import study_results, target_result, tiny_scenario  # noqa: E402

#: 20 explore + 30 train + 5 eval = 55 steps (the last window is short); checkpoints at 25 and 50.
CFG = TrainConfig(exploration_steps=20, training_steps=30, evaluation_steps=5, checkpoint_every=25, seed=5,
                  buffer_capacity=64, td3=TD3Config(batch_size=8))
T, EVERY, K, N = 55, 10, 12, 4
WINDOW_ENDS = [10, 20, 30, 40, 50, 55]


def load(path) -> EventAccumulator:
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def scalars(acc: EventAccumulator, tag: str) -> tuple[list[int], np.ndarray]:
    events = acc.Scalars(tag)
    return [e.step for e in events], np.array([e.value for e in events])


def window_means(values: np.ndarray) -> np.ndarray:
    """Means of ``values`` [T, ...] over the windows ending at WINDOW_ENDS."""
    starts = [0] + WINDOW_ENDS[:-1]
    return np.stack([values[a:b].mean(axis=0) for a, b in zip(starts, WINDOW_ENDS)])


def next_second(path) -> None:
    """Wait until event files written now sort after those in ``path`` (names carry whole seconds)."""
    newest = max(int(f.name.split(".")[3]) for f in path.rglob("events.out.tfevents.*"))
    while int(time.time()) <= newest:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tb_full")
    Trainer(tiny_scenario(), CFG, root / "run", tensorboard=root / "tb").run()
    return root / "run", root / "tb"


def test_training_run_log(full_run):
    run, tb = full_run
    log = read_log(run / LOG)
    acc = load(tb)
    tags = set(acc.Tags()["scalars"])
    expected = {"reward/mean", "phase"} | {f"reward/cell_{k}" for k in range(K)} | {
        f"satisfaction/cell_{k}/slice_{n}" for k in range(K) for n in range(N)} | {
        f"loss/{name}/cell_{k}" for name in ("critic", "actor") for k in range(K)}
    assert tags == expected
    # every step once, the log's mean reward (float32 in the event file)
    steps, mean = scalars(acc, "reward/mean")
    assert steps == list(range(1, T + 1))
    np.testing.assert_allclose(mean, log["reward"].mean(axis=1), rtol=1e-6)
    steps, phase = scalars(acc, "phase")
    assert steps == list(range(1, T + 1))
    assert list(phase) == [0] * 20 + [1] * 30 + [2] * 5
    # per cell and slice: window means, at the window's last step
    reward = np.stack([scalars(acc, f"reward/cell_{k}")[1] for k in range(K)], axis=1)
    assert scalars(acc, "reward/cell_0")[0] == WINDOW_ENDS
    np.testing.assert_allclose(reward, window_means(log["reward"]), rtol=1e-6)
    sat = np.array([[scalars(acc, f"satisfaction/cell_{k}/slice_{n}")[1] for n in range(N)] for k in range(K)])
    np.testing.assert_allclose(sat.transpose(2, 0, 1), window_means(log["satisfaction"]), rtol=1e-6)
    # losses: only windows with updates (training steps 21..50), finite
    for name in ("critic", "actor"):
        for k in range(K):
            steps, values = scalars(acc, f"loss/{name}/cell_{k}")
            assert steps == [30, 40, 50] and np.isfinite(values).all()
    # phase changes as text, once each
    texts = acc.Tensors("phase/text_summary")
    assert [e.step for e in texts] == [1, 21, 51]
    assert b"train" in texts[1].tensor_proto.string_val[0]


@pytest.mark.parametrize("stop", [25, 33, 40])  # at the checkpoint (mid-window), past it mid-window, past it
def test_resume_writes_every_step_once(tmp_path, full_run, stop):
    run, tb = tmp_path / "run", tmp_path / "tb"
    Trainer(tiny_scenario(), CFG, run, tensorboard=tb).run(stop_after=stop)  # checkpoint at 25
    first = list(tb.glob("events.out.tfevents.*"))
    assert len(first) == 1
    # the interrupted run wrote every step it ran, past its checkpoint too: the purge hides those
    written = [e.step for e in EventFileLoader(str(first[0])).Load()
               if any(v.tag == "reward/mean" for v in e.summary.value)]
    assert written == list(range(1, stop + 1))
    next_second(tb)
    resumed = Trainer(tiny_scenario(), CFG, run, resume=True, tensorboard=tb)
    assert resumed.step == 25
    resumed.run()
    assert len(list(tb.glob("events.out.tfevents.*"))) == 2
    acc, ref = load(tb), load(full_run[1])
    assert set(acc.Tags()["scalars"]) == set(ref.Tags()["scalars"])
    log = read_log(run / LOG)
    steps, mean = scalars(acc, "reward/mean")
    assert steps == list(range(1, T + 1))
    np.testing.assert_allclose(mean, log["reward"].mean(axis=1), rtol=1e-6)
    # the resumed run is the uninterrupted one (pyslice.learn.train); so are its logs, the window across
    # the resume (21..30) refilled from train_log.csv; its losses cover only the updates after it
    for tag in ref.Tags()["scalars"]:
        steps, values = scalars(acc, tag)
        ref_steps, ref_values = scalars(ref, tag)
        assert steps == ref_steps, tag
        same = [i for i, s in enumerate(steps) if not (tag.startswith("loss/") and s == 30)]
        np.testing.assert_array_equal(values[same], ref_values[same], err_msg=tag)
    assert [e.step for e in acc.Tensors("phase/text_summary")] == [1, 21, 51]
    server = ServerAccumulator(str(tb), size_guidance={"tensors": 0})  # as the TensorBoard server reads it
    server.Reload()
    assert [e.step for e in server.Tensors("reward/mean")] == list(range(1, T + 1))
    assert [e.step for e in server.Tensors("phase/text_summary")] == [1, 21, 51]


@pytest.mark.parametrize("how", ["sys.modules", "__import__"])
def test_require_tensorboard_without_the_extra(tmp_path, monkeypatch, how):
    if how == "sys.modules":
        for name in ("tensorboard", "torch.utils.tensorboard"):
            monkeypatch.setitem(sys.modules, name, None)
    else:
        real_import = builtins.__import__

        def no_tensorboard(name, *args, **kwargs):
            if name.startswith(("tensorboard", "torch.utils.tensorboard")):
                raise ImportError(name)
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    monkeypatch.delitem(sys.modules, "pyslice.learn.tensorboard")
    import pyslice.learn.tensorboard  # importing the module itself needs no TensorBoard

    with pytest.raises(ValueError) as err:
        pyslice.learn.tensorboard.require_tensorboard()
    assert str(err.value) == '--tensorboard needs TensorBoard: pip install "pyslice[tensorboard]"' == INSTALL_HINT
    with pytest.raises(ValueError, match="pyslice\\[tensorboard\\]"):  # before anything is written
        Trainer(tiny_scenario(), CFG, tmp_path / "run", tensorboard=tmp_path / "tb")
    assert not (tmp_path / "run").exists() and not (tmp_path / "tb").exists()


def test_without_tensorboard_nothing_is_imported(tmp_path):
    require_tensorboard()  # installed here
    code = ("import sys; from pyslice import Scenario; from pyslice.learn.train import Trainer, TrainConfig; "
            f"Trainer(Scenario.paper(), TrainConfig(exploration_steps=2, training_steps=0, evaluation_steps=0), "
            f"{str(tmp_path / 'run')!r}).run(); "
            "print(sorted(m for m in sys.modules if 'tensorboard' in m and not m.startswith('pyslice')))")
    # run outside the source tree: `python -c` puts its working directory first on the path
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]"


def test_logger_arguments(tmp_path):
    with pytest.raises(ValueError, match="every"):
        TrainLogger(tmp_path, every=0)


# ---- reproduce studies ---------------------------------------------------------------------------

def fake_study(root, rng) -> dict:
    """seed0 with a pretraining log and target 3 (TL from cells 1 and 5, scratch, model transfer);
    seed1 listed but without folders."""
    pre = root / "seed0" / "pretrain"
    pre.mkdir(parents=True)
    reward = rng.random((25, 2))
    rows = [",".join(map(str, [t + 1, "explore" if t < 10 else "train", reward[t].mean(), *reward[t], *reward[t]]))
            for t in range(25)]
    (pre / LOG).write_text(",".join(log_header(2, 1)) + "\n" + "\n".join(rows) + "\n")

    def result(sources, scratch, strategy):
        R = len(sources) + scratch
        curves = rng.random((R, 23))
        return TransferResult(run_dir="pre", target=3, sources=sources, strategy=strategy, steps=20, eval_steps=3,
                              seed=0, include_scratch=bool(scratch), scratch_exploration_steps=5,
                              feature_layers=[], n_instances=[0] * len(sources), distance=None,
                              target_reward=curves, network_reward=curves, throughput_satisfaction=curves,
                              max_delay_ms=curves)

    sweep = result([1, 5], 1, "integrated")
    sweep.save(root / "seed0" / "transfer" / "target3" / "integrated")
    model = result([5], 0, "model")
    model.save(root / "seed0" / "transfer" / "target3" / "model")
    (root / "seed0" / "transfer" / "target3" / "model" / "done.json").write_text("{}")
    results = study_results(
        {s: {3: target_result([1, 5], [0.3, 0.1])} for s in (0, 1)},
        phase_seconds={"baseline": 1.5, "pretrain": 10.0, "similarity": 2.0, "transfer": 30.0, "evaluate": 1.0},
        wall_seconds=40.0,
        claims=[Claim(claim="TL > DRL", verdict="holds", holds=True, evidence=["a - b"]),
                Claim(claim="nearest > farthest", verdict="not resolved", holds=False, evidence=[])]).to_dict()
    return {"results": results, "reward": reward, "sweep": sweep, "model": model}


def test_log_study(tmp_path):
    run, tb = tmp_path / "study", tmp_path / "tb"
    fake = fake_study(run, np.random.default_rng(0))
    results = fake["results"]
    log_study(tb, run, results)
    assert sorted(p.relative_to(tb).as_posix() for p in tb.glob("*/*") if p.is_dir()) == [
        "seed0/pretrain", "seed0/target3"]
    assert (tb / "study").is_dir() and not (tb / "seed1").exists()  # seed1 has no folders: skipped

    def window_curve(curve):
        return [(min(a + 10, len(curve)), curve[a:a + 10].mean()) for a in range(0, len(curve), 10)]

    def check(acc, tag, curve):
        steps, values = scalars(acc, tag)
        want = window_curve(curve)
        assert steps == [s for s, _ in want], tag
        np.testing.assert_allclose(values, [v for _, v in want], rtol=1e-6, err_msg=tag)

    pre = load(tb / "seed0" / "pretrain")
    check(pre, "reward/mean", fake["reward"].mean(axis=1))
    assert b"step 11: train begins" in pre.Tensors("phase/text_summary")[0].tensor_proto.string_val[0]
    target = load(tb / "seed0" / "target3")
    curves = fake["sweep"].target_reward
    check(target, "reward/tl_nearest", curves[1])  # cell 5: distance 0.1
    check(target, "reward/tl_farthest", curves[0])
    check(target, "reward/scratch", curves[2])
    check(target, "reward/model", fake["model"].target_reward[0])
    assert "reward_by_source/cell_1" not in target.Tags()["scalars"]  # two sources: no sweep curves
    text = target.Tensors("curves/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "nearest source: cell 5, distance 0.1" in text and "farthest source: cell 1" in text
    study = load(tb / "study")
    assert scalars(study, "wall_seconds/transfer") == ([0], np.array([30.0], np.float32))
    assert scalars(study, "wall_seconds/total")[1][0] == 40.0
    claims = study.Tensors("claims/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| holds | TL > DRL | a - b |" in claims and "| not resolved | nearest > farthest |" in claims
    # results read back from results.json (string keys) and a second write: every point once
    next_second(tb)
    log_study(tb, run, json.loads(json.dumps(results)))
    check(load(tb / "seed0" / "target3"), "reward/tl_nearest", curves[1])
    # text too, as the TensorBoard server reads it (the legacy EventAccumulator purges scalars only)
    server = ServerAccumulator(str(tb / "study"), size_guidance={"tensors": 0})
    server.Reload()
    assert [e.step for e in server.Tensors("claims/text_summary")] == [0]
    assert [e.step for e in server.Tensors("wall_seconds/total")] == [0]


def test_log_study_skips_missing(tmp_path):
    log_study(tmp_path / "tb", tmp_path / "nothing", study_results({0: {1: target_result([0], [0.5])}}))
    assert [p.name for p in (tmp_path / "tb").iterdir()] == ["study"]
