"""Helpers of the commands that take settings (``--set``, ``--config``) or run studies."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pyslice.commands.common import load_scenario, parse_targets
from pyslice.learn.tensorboard import require_tensorboard
from pyslice.settings import apply_overrides
from pyslice.settings import reproduce_settings
from pyslice.study.executor import make_executor
from pyslice.study.experiment import ReproduceConfig


def settings_from_args(settings: Any, args: argparse.Namespace, flags: dict[str, Any]) -> dict[str, Any]:
    """Defaults ← ``--config FILE`` ← the command's own flags (those given) ← ``--set`` items; the
    built (validated) objects."""
    if getattr(args, "config", None):
        settings.merge_file(args.config)
    given = [(tuple(key.split(".")), value, flag) for key, (flag, value) in flags.items() if value is not None]
    settings.update(given, ", ".join(f"{flag} {value}" for _, value, flag in given))
    apply_overrides(settings, args.set or [])
    return settings.objects


def tensorboard_dir(args: argparse.Namespace) -> Path | None:
    """``--tensorboard DIR``, checked before anything runs (the optional extra must be installed)."""
    if getattr(args, "tensorboard", None) is None:
        return None

    require_tensorboard()
    return Path(args.tensorboard)


def reproduce_objects(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(scenario, ReproduceConfig, settings) of ``reproduce``/``sweep`` from the command line."""
    scenario = load_scenario(args.scenario)
    settings = reproduce_settings(scenario, ReproduceConfig.quick() if args.quick else ReproduceConfig())
    n_cells = scenario.n_cells
    parsed = None if args.targets is None else parse_targets(args.targets, n_cells)
    targets = parsed if parsed is None or isinstance(parsed, str) else list(parsed)
    if args.seeds is not None and (args.seeds < 1):
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    objects = settings_from_args(settings, args, {"reproduce.seeds": ("--seeds", args.seeds),
                                                   "reproduce.targets": ("--targets", targets)})
    return objects["scenario"], objects["reproduce"], settings


def executor_from_args(args: argparse.Namespace) -> Any:
    return make_executor(args.executor, args.workers, args.ray_address)
