"""pyslice's batched TD3 against Stable-Baselines3's TD3 on the same single-cell env (issue 11).

Both learners drive ``SlicingEnv.single_cell_env(k, others="traffic-aware")`` (the other 11 cells use
the traffic-aware shares of the previous step) with the paper's hyper-parameters: actor 48-24 / critic
64-24, Adam lr 5e-4 (actor) / 1e-3 (critics), batch 32, gamma 0.1, tau 0.005, target noise 0.2 clipped
0.5, policy delay 2, Gaussian exploration noise 0.1, replay 10,000; 3000 warm-up steps with uniform
random Box actions, 5500 training steps with one update each, then 250 greedy steps. SB3 works on the
env's Box [0, 1]^N (tanh head, noise in its [-1, 1] scaled space, the env maps the Box onto the
simplex); pyslice's learner gets the same env and maps its actions to shares itself. The traffic-aware
policy driving cell k too gives the baseline on the same trajectories.

    python bench/td3_vs_sb3.py [--cells 3,4] [--seeds 0,1,2] [--variants default,legacy] [--workers 2]

Needs the ``bench`` extra (``pip install ".[bench]"``: stable-baselines3). Prints per-run and mean
window rewards; a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from pyslice import Scenario, SlicingEnv
from pyslice.envs.baselines import make_policy
from pyslice.learn.replay import ReplayBuffers
from pyslice.learn.td3 import LEGACY_TD3, BatchedTD3, TD3Config, use_one_thread

EXPLORE, TRAIN, EVAL = 3000, 5500, 250
WINDOW = 250


def make_env(cell: int, seed: int):
    return SlicingEnv.single_cell_env(cell, others="traffic-aware", scenario=Scenario.paper(), seed=seed,
                                      max_steps=10**9)


def run_baseline(cell: int, seed: int) -> np.ndarray:
    env = make_env(cell, seed)
    policy = make_policy("traffic-aware", env.env.scenario)
    env.reset()
    rewards = []
    for _ in range(EXPLORE + TRAIN + EVAL):
        shares = policy.act(env.env.last_obs, env.env.last_info)[cell]
        rewards.append(env.step(shares)[1])
    return np.array(rewards)


def run_pyslice(cell: int, seed: int, variant: str) -> np.ndarray:
    cfg = TD3Config(seed=seed) if variant == "default" else TD3Config(seed=seed, **LEGACY_TD3)
    env = make_env(cell, seed)
    obs, _ = env.reset()
    agent = BatchedTD3(1, obs.shape[0], env.action_space.shape[0], cfg)
    replay = ReplayBuffers(1, 10_000, obs.shape[0], env.action_space.shape[0], seed=seed)
    rng = np.random.default_rng(seed)
    rewards = []
    for t in range(EXPLORE + TRAIN + EVAL):
        if t < EXPLORE:
            raw = agent.random_actions(rng)
        else:
            raw = agent.policy_actions(obs[None], explore=t < EXPLORE + TRAIN, rng=rng)
        next_obs, reward, *_ = env.step(agent.to_shares(raw)[0])
        rewards.append(reward)
        if t < EXPLORE + TRAIN:
            replay.add(obs[None], raw, np.array([reward]), next_obs[None])
        if EXPLORE <= t < EXPLORE + TRAIN:
            agent.update(replay.sample(cfg.batch_size, rng))
        obs = next_obs
    return np.array(rewards)


def run_sb3(cell: int, seed: int) -> np.ndarray:
    import gymnasium
    from stable_baselines3 import TD3
    from stable_baselines3.common.noise import NormalActionNoise

    class Recorder(gymnasium.Wrapper):
        def __init__(self, env):
            super().__init__(env)
            self.rewards: list[float] = []
            self.last_obs = None

        def reset(self, **kw):
            self.last_obs, info = self.env.reset(**kw)
            return self.last_obs, info

        def step(self, action):
            self.last_obs, r, term, trunc, info = self.env.step(action)
            self.rewards.append(r)
            return self.last_obs, r, term, trunc, info

    class PaperTD3(TD3):
        """SB3's TD3 with separate actor/critic learning rates (the paper's 5e-4 / 1e-3)."""

        def _update_learning_rate(self, optimizers):
            for opt, lr in zip(optimizers if isinstance(optimizers, list) else [optimizers], (5e-4, 1e-3)):
                for group in opt.param_groups:
                    group["lr"] = lr

    env = Recorder(make_env(cell, seed))
    n = env.action_space.shape[0]
    model = PaperTD3("MlpPolicy", env, learning_rate=5e-4, buffer_size=10_000, learning_starts=EXPLORE,
                     batch_size=32, tau=0.005, gamma=0.1, train_freq=1, gradient_steps=1, policy_delay=2,
                     target_policy_noise=0.2, target_noise_clip=0.5, seed=seed, device="cpu",
                     action_noise=NormalActionNoise(np.zeros(n), 0.1 * np.ones(n)),
                     policy_kwargs={"net_arch": {"pi": [48, 24], "qf": [64, 24]}})
    model.learn(EXPLORE + TRAIN)
    obs = env.last_obs
    for _ in range(EVAL):
        action, _ = model.predict(obs, deterministic=True)
        env.step(action)
        obs = env.last_obs
    return np.array(env.rewards[: EXPLORE + TRAIN + EVAL])


def one(job: tuple[str, int, int]) -> tuple[str, int, int, list[float]]:
    use_one_thread()
    learner, cell, seed = job
    if learner == "sb3":
        r = run_sb3(cell, seed)
    elif learner == "baseline":
        r = run_baseline(cell, seed)
    else:
        r = run_pyslice(cell, seed, learner.split(":", 1)[1])
    return learner, cell, seed, r.tolist()


def stats(r: np.ndarray) -> dict[str, float]:
    train = r[EXPLORE:EXPLORE + TRAIN]
    windows = train[: len(train) // WINDOW * WINDOW].reshape(-1, WINDOW).mean(1)
    return {"first 500 train": float(train[:500].mean()), "min 250-window": float(windows.min()),
            "last 500 train": float(train[-500:].mean()), "greedy eval": float(r[EXPLORE + TRAIN:].mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default="3,4")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default="default,legacy", help="pyslice learner variants: default, legacy")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="write the curves and the table as JSON here")
    args = ap.parse_args()
    cells = [int(c) for c in args.cells.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    learners = ["sb3", *(f"pyslice:{v}" for v in args.variants.split(",") if v), "baseline"]
    jobs = [(learner, c, s) for learner in learners for c in cells for s in seeds]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(one, jobs))
    table: dict[str, dict[str, list[float]]] = {}
    print(f"{'learner':18s} {'cell':>4s} {'seed':>4s}  " + "  ".join(f"{k:>15s}" for k in stats(np.zeros(9000))))
    for learner, cell, seed, r in results:
        st = stats(np.array(r))
        for key, value in st.items():
            table.setdefault(learner, {}).setdefault(key, []).append(value)
        print(f"{learner:18s} {cell:4d} {seed:4d}  " + "  ".join(f"{v:15.3f}" for v in st.values()))
    print("\nmean ± std over cells and seeds")
    for learner, cols in table.items():
        print(f"{learner:18s}           " + "  ".join(f"{np.mean(v):9.3f}±{np.std(v):5.3f}" for v in cols.values()))
    if args.out:
        Path(args.out).write_text(json.dumps({"runs": [dict(zip(("learner", "cell", "seed", "reward"), r))
                                                       for r in results], "table": table}))


if __name__ == "__main__":
    main()
