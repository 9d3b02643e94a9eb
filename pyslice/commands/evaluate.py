"""``pyslice evaluate``: a trained run's greedy agents or a baseline policy."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from pyslice.base.atomic import write_json
from pyslice.commands.common import POLICIES, load_scenario
from pyslice.learn.train import evaluate, load_policy


def run(args: argparse.Namespace) -> int:
    if args.policy in POLICIES:
        scenario = load_scenario(args.scenario)
        policy: object = args.policy
        n_neighbours, observation = 6, "clipped"
    else:
        agent, trained_on, train_cfg = load_policy(args.policy)
        scenario = trained_on if args.scenario == "trained" else load_scenario(args.scenario)
        policy, n_neighbours, observation = agent, train_cfg["n_neighbours"], train_cfg["observation"]
    result = evaluate(scenario, policy, steps=args.steps, seed=args.seed, warmup=args.warmup,
                      n_neighbours=n_neighbours, observation=observation)
    print(json.dumps(result, indent=2))
    if args.out:

        write_json(Path(args.out) / "evaluation.json", result)
    return 0
