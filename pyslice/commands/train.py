"""``pyslice train``: the coordinated TD3 agents with the paper's schedule."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pyslice.base.atomic import write_text
from pyslice.base.runlock import RunLock
from pyslice.commands.common import load_scenario
from pyslice.commands.settings_args import settings_from_args, tensorboard_dir
from pyslice.learn.td3 import use_one_thread
from pyslice.learn.train import Trainer
from pyslice.settings import train_settings


def run(args: argparse.Namespace) -> int:
    use_one_thread()
    settings = train_settings(load_scenario(args.scenario))
    objects = settings_from_args(settings, args, {
        "train.exploration_steps": ("--exploration-steps", args.exploration_steps),
        "train.training_steps": ("--training-steps", args.training_steps),
        "train.evaluation_steps": ("--evaluation-steps", args.evaluation_steps),
        "train.checkpoint_every": ("--checkpoint-every", args.checkpoint_every),
        "train.seed": ("--seed", args.seed)})
    scenario, config = objects["scenario"], objects["train"]
    tb_dir = tensorboard_dir(args)

    with RunLock(args.out):  # one writer per run directory
        summary = _train(scenario, config, settings, args, tb_dir)
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}/policy.pt, train_log.csv, summary.json, config.toml")
    return 0


def _train(scenario: Any, config: Any, settings: Any, args: argparse.Namespace, tb_dir: Path | None) -> dict:
    trainer = Trainer(scenario, config, args.out, resume=args.resume, tensorboard=tb_dir)
    write_text(Path(args.out) / "config.toml", settings.toml())
    recent: list[float] = []
    with tqdm(total=config.total_steps, initial=trainer.step, desc="train", unit="step", disable=args.quiet) as bar:
        def progress(step: int, phase: str, mean_reward: float) -> None:
            recent.append(mean_reward)
            del recent[:-100]
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(phase=phase, reward=f"{np.mean(recent):.3f}")

        return trainer.run(progress=progress)
