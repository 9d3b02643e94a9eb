"""``pyslice transfer``: TL to a new agent in one cell of a trained run, against DRL from scratch."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pyslice.base.artifacts import mark_done
from pyslice.base.atomic import write_text
from pyslice.base.runlock import RunLock
from pyslice.commands.common import cell_arg, run_scenario
from pyslice.commands.settings_args import settings_from_args
from pyslice.learn.td3 import use_one_thread
from pyslice.learn.train import TrainConfig
from pyslice.settings import transfer_settings
from pyslice.study.similarity import load_distance_csv
from pyslice.study.transfer import STRATEGIES
from pyslice.study.transfer_runs import run_transfer


def run(args: argparse.Namespace) -> int:
    use_one_thread()
    run = Path(args.run)
    scenario = run_scenario(run)
    run_td3 = TrainConfig.from_dict(json.loads((run / "run.json").read_text())["train"]).td3
    settings = transfer_settings(run_td3)
    source = None if args.source is None else (args.source if args.source == "auto" else cell_arg("--source", args.source))
    t = settings_from_args(settings, args, {
        "transfer.target": ("--target", args.target), "transfer.source": ("--source", source),
        "transfer.strategy": ("--strategy", args.strategy), "transfer.measure": ("--measure", args.measure),
        "transfer.steps": ("--steps", args.steps), "transfer.eval_steps": ("--eval-steps", args.eval_steps),
        "transfer.exploration_noise": ("--exploration-noise", args.exploration_noise),
        "transfer.instance_rewards": ("--instance-rewards", args.instance_rewards),
        "transfer.include_scratch": ("--no-scratch", False if args.no_scratch else None)})
    t, td3 = t["transfer"], t["td3"]
    for key in ("actor_hidden", "critic_hidden", "actor_head"):
        if getattr(td3, key) != getattr(run_td3, key):
            raise ValueError(f"td3.{key} must stay the run's ({getattr(run_td3, key)!r}): the transferred networks "
                             "and instances have its shapes and action space")
    n_cells = scenario.n_cells
    target = t["target"]
    if not 0 <= target < n_cells:
        raise ValueError(f"--target must be in [0, {n_cells - 1}], got {target}")
    if t["strategy"] not in STRATEGIES or t["strategy"] == "none":
        raise ValueError(f"--strategy must be one of {', '.join(STRATEGIES[:-1])}, got {t['strategy']!r}")
    distance = None
    csv_path = run / "similarity" / f"distance_{t['measure'].replace('-', '_')}.csv"
    if csv_path.is_file():
        distance = load_distance_csv(csv_path)
    if t["source"] == "auto":
        if distance is None:
            raise FileNotFoundError(f"--source auto needs {csv_path}: run `pyslice similarity --run {run}` first")
        sources = [min((i for i in range(n_cells) if i != target), key=lambda i: (distance[i, target], i))]
    else:
        if not 0 <= t["source"] < n_cells or t["source"] == target:
            raise ValueError(f"--source must be 'auto' or a cell in [0, {n_cells - 1}] other than the target, "
                             f"got {t['source']}")
        sources = [t["source"]]
    out = Path(args.out) if args.out else run / "transfer" / f"target{target}_{t['strategy']}_from{sources[0]}"

    with RunLock(out):  # one writer per result directory
        result = _transfer(run, target, sources, t, td3, run_td3, distance, out, settings)
    summary = result.summary()
    print(json.dumps({"sources": summary["sources"], "eval": summary["eval"],
                      "mean_reward": summary["mean_reward"], "gain_over_scratch": summary.get("gain_over_scratch")},
                     indent=2))
    print(f"wrote {out}/transfer.json, transfer.npz, config.toml")
    return 0


def _transfer(run: Path, target: int, sources: list[int], t: dict, td3: Any, run_td3: Any, distance: Any,
              out: Path, settings: Any) -> Any:
    result = run_transfer(run, target, sources, t["strategy"], t["steps"], t["eval_steps"],
                          include_scratch=t["include_scratch"], distance=distance, out_dir=out,
                          exploration_noise=t["exploration_noise"], instance_rewards=t["instance_rewards"],
                          td3=td3 if td3 != run_td3 else None)
    write_text(out / "config.toml", settings.toml())

    mark_done(out, result.wall_seconds)  # last: the result's files, verifiable (pyslice verify)
    return result
