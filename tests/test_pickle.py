"""pickle and copy.deepcopy of every stateful pyslice object: the copy continues bit for bit like the
original (shared worlds included), whatever point of the run it was taken at."""
from __future__ import annotations

import copy
import pickle

import gymnasium
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import SlicingEnv
from pyslice.envs.adapters import SingleCellEnv, SlicingParallelEnv
from pyslice.envs.vector_env import SingleCellVectorEnv
from pyslice.sim.simulator import Simulator, SimulatorBatch
from helpers import with_ues

SC = with_ues(4)
COPIES = {"pickle": lambda obj: pickle.loads(pickle.dumps(obj)), "deepcopy": copy.deepcopy}


def shares(rng: np.random.Generator, *lead: int) -> np.ndarray:
    return rng.dirichlet(np.ones(SC.n_slices), size=(*lead, SC.n_cells))


def assert_same(a, b, what: str) -> None:
    """Equal bits in (nested) outputs: arrays, dicts of arrays, tuples, numbers."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), what
        for key in a:
            assert_same(a[key], b[key], f"{what}[{key}]")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), what
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{what}[{i}]")
    elif hasattr(a, "__dataclass_fields__"):
        assert_same(vars(a), vars(b), what)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=what)


def snapshot(out):
    """A copy of a step's outputs (a batch returns the same arrays every call)."""
    return copy.deepcopy(out)


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["simulator", "batch", "shared-world batch"]), how=st.sampled_from(sorted(COPIES)),
       before=st.integers(0, 4), seed=st.integers(0, 2**32), threads=st.integers(1, 2))
def test_simulator_copies_continue_bit_for_bit(kind, how, before, seed, threads):
    rng = np.random.default_rng(seed % 997)
    if kind == "simulator":
        original = Simulator(SC, seed)
        step = lambda sim, x: sim.step(x[0])  # noqa: E731
    else:
        seeds = [seed] * 3 if kind == "shared-world batch" else [seed, seed + 1, seed + 2]
        original = SimulatorBatch(SC, seeds, threads=threads, shared_world=kind == "shared-world batch")
        step = lambda batch, x: batch.step(x)  # noqa: E731
    for _ in range(before):
        step(original, shares(rng, 3))
    duplicate = COPIES[how](original)
    if kind != "simulator":
        assert_same(original._out, duplicate._out, "outputs of the step before the copy")
        assert_same(original.result(2), duplicate.result(2), "the last result of the copy")
    for t in range(3):
        x = shares(rng, 3)
        assert_same(snapshot(step(original, x)), step(duplicate, x), f"step {t} after the copy")
    if kind != "shared-world batch":
        assert original.get_state() == duplicate.get_state()


@settings(max_examples=8, deadline=None)
@given(how=st.sampled_from(sorted(COPIES)), replicas=st.integers(1, 3), shared=st.booleans(),
       before=st.integers(0, 3), seed=st.integers(0, 10_000))
def test_env_copies_continue_bit_for_bit(how, replicas, shared, before, seed):
    env = SlicingEnv(SC, seed=seed, replicas=replicas, same_seed=shared, shared_world=shared)
    rng = np.random.default_rng(seed)
    lead = () if replicas == 1 else (replicas,)
    env.reset()
    for _ in range(before):
        env.step(shares(rng, *lead))
    duplicate = COPIES[how](env)
    for t in range(3):
        x = shares(rng, *lead)
        assert_same(snapshot(env.step(x)), duplicate.step(x), f"step {t} after the copy")


def test_adapters_and_registered_envs_travel():
    """The PettingZoo parallel env, the single-cell gymnasium env (as gymnasium.make builds it) and
    both vector envs: a pickled copy steps like the original."""
    rng = np.random.default_rng(1)
    parallel = SlicingParallelEnv(SC, seed=2, max_steps=10)
    parallel.reset(seed=2)
    action = {a: np.full(SC.n_slices, 0.25, np.float32) for a in parallel.agents}
    parallel.step(action)
    for how, make_copy in COPIES.items():
        duplicate = make_copy(parallel)
        action = {a: rng.dirichlet(np.ones(SC.n_slices)).astype(np.float32) for a in parallel.agents}
        assert_same(snapshot(parallel.step(action)), duplicate.step(action), f"parallel env, {how}")
    envs = {"single cell": SingleCellEnv(3, others="traffic-aware", scenario=SC, seed=1),
            "registered": gymnasium.make("pyslice/SingleCell-v0", scenario=SC),
            "vector": SingleCellVectorEnv(num_envs=2, scenario=SC, seed=1),
            "make_vec": gymnasium.make_vec("pyslice/SingleCell-v0", num_envs=2, scenario=SC,
                                           vectorization_mode="vector_entry_point")}
    for name, env in envs.items():
        env.reset(seed=5)
        env.action_space.seed(5)
        env.step(env.action_space.sample())
        for how, make_copy in COPIES.items():
            duplicate = make_copy(env)
            action = env.action_space.sample()
            assert_same(snapshot(env.step(action)), duplicate.step(action), f"{name}, {how}")


def test_results_before_the_first_step_are_zeros():
    """Nothing stepped yet: the outputs read back are zeros, never uninitialised memory (which a copy
    could not reproduce)."""
    result = SimulatorBatch(SC, [1, 2]).result(1)
    for name in ("throughput", "delay", "load", "shares", "cell_load", "mask"):
        assert not np.any(getattr(result, name)), name
