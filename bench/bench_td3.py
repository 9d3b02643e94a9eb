"""TD3 benchmark: one batched network for 12 agents vs 12 separate torch.nn agents (same run).

Paper sizes (obs 16, act 4, batch 32, actor (48, 24), critics (64, 24)), one torch thread. The
separate agents are the plain reference of the tests (tests/td3_reference.py: nn.Linear layers,
torch.optim.Adam). Times one full TD3 update for all 12 agents (critic step every call, actor and
targets every second call, as in training) and ``act`` for all 12 agents. Prints only; no
pass/fail (target: batched >= 15x faster per update). The two sides of the ratio are timed in
interleaved blocks (the machine is shared and noisy).

    python bench/bench_td3.py [--agents 12] [--updates 400] [--repeats 5] [--scaling 12,48,144]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pyslice.learn.replay import Batch
from pyslice.sim.scenario import Scenario
from pyslice.learn.train import Trainer, TrainConfig
from pyslice.learn.td3 import BatchedTD3, TD3Config, project_to_simplex, use_one_thread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import td3_reference  # noqa: E402
from td3_reference import ReferenceTD3  # noqa: E402


def best_of(fn, n: int, repeats: int) -> float:
    """Best mean seconds per call over ``repeats`` runs of ``n`` calls (after one warm-up run)."""
    fn(max(1, n // 10))
    return min(_timed(fn, n) for _ in range(repeats)) / n


def interleaved_best(runs, repeats: int) -> list[float]:
    """Best mean seconds per call of each ``(fn, n)`` in ``runs``, their blocks interleaved (A, B,
    A, B, ...) so that both sides of a ratio meet the same moments of a shared, noisy machine."""
    for fn, n in runs:
        fn(max(1, n // 10))  # warm-up
    best = [float("inf")] * len(runs)
    for _ in range(repeats):
        for i, (fn, n) in enumerate(runs):
            best[i] = min(best[i], _timed(fn, n) / n)
    return best


def _timed(fn, n: int) -> float:
    t0 = time.perf_counter()
    fn(n)
    return time.perf_counter() - t0


def _batched_update_time(K: int, D: int, A: int, cfg: TD3Config, n: int, repeats: int) -> float:
    """Best seconds per update of one :class:`BatchedTD3` of ``K`` agents on random minibatches."""
    g = torch.Generator().manual_seed(K)
    B = cfg.batch_size
    batches = [(Batch(torch.randn(K, B, D, generator=g), torch.rand(K, B, A, generator=g), torch.rand(K, B, generator=g),
                      torch.randn(K, B, D, generator=g)), torch.randn(K, B, A, generator=g)) for _ in range(4)]
    agent = BatchedTD3(K, D, A, cfg)

    def run(m: int) -> None:
        for i in range(m):
            batch, noise = batches[i % len(batches)]
            agent.update(batch, noise=noise)

    return best_of(run, n - n % 2, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=12)
    ap.add_argument("--updates", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--scaling", type=lambda v: [int(x) for x in v.split(",")], default=[12, 48, 144],
                    help="agent counts K for the batched update's scaling (default 12,48,144)")
    ap.add_argument("--quick", action="store_true", help="fewer timing repeats, a 10x shorter schedule")
    ap.add_argument("--json", action="store_true", help="end with one JSON line of the measured ratios")
    args = ap.parse_args()
    if args.quick:
        args.updates, args.repeats = 100, 2
    threads = use_one_thread()
    K, D, A, cfg = args.agents, 16, 4, TD3Config(seed=0)
    B = cfg.batch_size

    g = torch.Generator().manual_seed(0)
    pool = [
        (
            Batch(
                torch.randn(K, B, D, generator=g),
                torch.softmax(torch.randn(K, B, A, generator=g), -1),
                torch.rand(K, B, generator=g),
                torch.randn(K, B, D, generator=g),
            ),
            torch.randn(K, B, A, generator=g),
        )
        for _ in range(16)
    ]

    batched = BatchedTD3(K, D, A, cfg)

    def run_batched(n: int) -> None:
        for i in range(n):
            batch, noise = pool[i % len(pool)]
            batched.update(batch, noise=noise)

    # the separate agents use the reference's projection for target smoothing, which is a slow
    # per-row brute force; give them the same vectorised projection as the batched agents so the
    # comparison measures the network/optimiser layout only
    td3_reference.simplex_projection_bruteforce = project_to_simplex
    separate = [ReferenceTD3(D, A) for _ in range(K)]
    for k, agent in enumerate(separate):
        agent.load(batched.agent_parameters(k))

    def run_separate(n: int) -> None:
        for i in range(n):
            batch, noise = pool[i % len(pool)]
            for k, agent in enumerate(separate):
                agent.update(batch.obs[k], batch.act[k], batch.rew[k], batch.next_obs[k], noise[k])

    n = args.updates - args.updates % 2  # even: equal numbers of actor updates
    # blocks of about the same duration on both sides, interleaved, the fastest of each kept
    t_b, t_s = interleaved_best([(run_batched, max(2, n // 4 - (n // 4) % 2)),
                                 (run_separate, max(2, n // 40 - (n // 40) % 2))], 4 * args.repeats)

    obs = np.random.default_rng(0).normal(size=(K, D)).astype(np.float32)
    rng = np.random.default_rng(1)

    def act_batched(m: int) -> None:
        for _ in range(m):
            batched.act(obs, explore=True, rng=rng)

    def act_separate(m: int) -> None:
        with torch.no_grad():
            for _ in range(m):
                for k, agent in enumerate(separate):
                    a = agent.act(torch.from_numpy(obs[k])).numpy().astype(np.float64)
                    u = np.clip(a + cfg.exploration_noise * rng.standard_normal(a.shape), -1.0, 1.0)  # Box noise
                    b = 0.5 * (u + 1.0)
                    b / b.sum()  # the Box map onto the simplex

    m = 2000
    a_b = best_of(act_batched, m, args.repeats)
    a_s = best_of(act_separate, m // 4, args.repeats)

    print(f"TD3 benchmark: {K} agents, obs {D}, act {A}, batch {B}, torch {torch.__version__}, {threads} thread(s)")
    print(f"  update, batched BatchedTD3   : {t_b * 1e3:8.3f} ms  ({1 / t_b:8.1f} updates/s of all {K} agents)")
    print(f"  update, {K} separate nn agents: {t_s * 1e3:8.3f} ms  ({1 / t_s:8.1f} updates/s of all {K} agents)")
    print(f"  update speed-up               : {t_s / t_b:8.2f}x  (target >= 15x)")
    print(f"  act (explore), batched        : {a_b * 1e6:8.1f} us  ({1 / a_b:8.0f} calls/s)")
    print(f"  act (explore), {K} separate    : {a_s * 1e6:8.1f} us  ({1 / a_s:8.0f} calls/s)")
    print(f"  act speed-up                  : {a_s / a_b:8.2f}x")

    # How the batched update scales with the number of agents (the transfer study batches targets
    # × runs learners): time per update of all K agents and per agent.
    print("\n  batched update vs agents K:")
    for k_agents in args.scaling:
        t_k = _batched_update_time(k_agents, D, A, cfg, max(20, n // 4), args.repeats)
        print(f"    K = {k_agents:4d}: {t_k * 1e3:8.3f} ms per update ({t_k * 1e6 / k_agents:7.1f} us per agent)")

    # The paper's full schedule (3000 + 5500 + 250 steps, 12 agents) with the wall-time breakdown.
    scale = 10 if args.quick else 1
    cfg_run = TrainConfig(exploration_steps=3000 // scale, training_steps=5500 // scale,
                          evaluation_steps=250 // scale, checkpoint_every=0)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = Trainer(Scenario.paper(), cfg_run, tmp).run()
        wall = time.perf_counter() - start
    timing = summary["timing_seconds"]
    print(f"\nPaper schedule{' / 10' if args.quick else ''} ({cfg_run.total_steps} steps, 12 agents): "
          f"{wall:.1f} s wall (target <= 60 s for the full schedule)")
    for part, seconds in timing.items():
        print(f"  {part:10s} {seconds:7.2f} s  ({1e3 * seconds / cfg_run.total_steps:.3f} ms/step)")
    if args.json:
        print(json.dumps({"td3: batched / separate update speed": t_s / t_b,
                          "td3: batched / separate act speed": a_s / a_b,
                          f"train: wall s for {cfg_run.total_steps} steps": wall}))


if __name__ == "__main__":
    main()
