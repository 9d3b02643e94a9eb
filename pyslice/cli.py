"""Command line: ``pyslice simulate|train|evaluate|similarity|transfer|reproduce|sweep|compare|calibrate|verify|bench ...``.

This module only parses the command line; each command lives in :mod:`pyslice.commands` and is
imported when it runs, so a command loads only what it needs (``pyslice simulate`` and
``pyslice calibrate`` never import torch)."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from pyslice.commands.common import POLICIES
from pyslice.study.executor import TaskFailures


def _add_settings_args(parser: argparse.ArgumentParser, sections: str) -> None:
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help=f"override a setting ({sections}), e.g. td3.actor_lr=1e-4; the value is a TOML "
                             "literal or a bare word, 'none' unsets; repeatable")
    parser.add_argument("--config", metavar="FILE",
                        help="settings TOML (e.g. a run's config.toml); flags and --set apply on top")


def _add_tensorboard_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tensorboard", metavar="DIR", default=None,
                        help="also write TensorBoard logs to DIR (pip install 'pyslice[tensorboard]')")


class _VersionAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):  # noqa: D401
        from pyslice import build_info  # the core, loaded only for --version

        info = build_info()
        print(f"pyslice {info['version']} ({info['build']} build, {info['compiler']}, {info['processor']}); "
              f"kernels: {info['simd_level']} ({info['simd_reason']}; built: "
              f"{', '.join(info['simd_levels_compiled'])}; this CPU: {', '.join(info['simd_levels_cpu'])})")
        parser.exit()


def _add_simulate(sub: Any) -> None:
    """``simulate``'s flags."""
    sim = sub.add_parser("simulate", help="run the simulator under a fixed share policy, write KPIs")
    sim.add_argument("--scenario", default="paper", help="'paper' or a scenario TOML file")
    sim.add_argument("--steps", type=int, default=1000)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--policy", choices=POLICIES, default="traffic-aware")
    sim.add_argument("--out", default="runs/simulate")
    sim.add_argument("--format", choices=("csv", "parquet", "npz"), default="csv",
                     help="parquet (pip install pyarrow) for long runs: compact, one row group per chunk")
    sim.add_argument("--replicas", type=int, default=1, help="R seeds (seed, seed+1, ...) stepped as one batch")
    sim.add_argument("--threads", type=int, default=1, help="C++ threads stepping the replicas")
    sim.add_argument("--chunk-steps", type=int, default=1000, help="steps per chunk written (and resumable)")
    sim.add_argument("--ue-every", type=int, default=0,
                     help="also write per-UE samples (SINR, throughput, serving cell) every N steps to ues.FORMAT")
    sim.add_argument("--resume", action="store_true", help="continue an interrupted run in OUT from its last chunk")
    sim.add_argument("--plot", action="store_true", help="also draw network.png and kpis.png")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_train(sub: Any) -> None:
    """``train``'s flags."""
    train = sub.add_parser("train", help="train the coordinated TD3 agents (paper schedule)")
    train.add_argument("--scenario", default="paper", help="'paper' or a scenario TOML file")
    train.add_argument("--seed", type=int, default=None, help="train.seed (default 0)")
    train.add_argument("--out", default="runs/train")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.add_argument("--exploration-steps", type=int, default=None, help="train.exploration_steps (default 3000)")
    train.add_argument("--training-steps", type=int, default=None, help="train.training_steps (default 5500)")
    train.add_argument("--evaluation-steps", type=int, default=None, help="train.evaluation_steps (default 250)")
    train.add_argument("--checkpoint-every", type=int, default=None, help="train.checkpoint_every (default 1000)")
    _add_settings_args(train, "scenario, train, td3")
    _add_tensorboard_arg(train)
    train.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_evaluate(sub: Any) -> None:
    """``evaluate``'s flags."""
    ev = sub.add_parser("evaluate", help="evaluate a trained run (DIR) or a baseline policy")
    ev.add_argument("--policy", required=True, help="a run directory with policy.pt, or " + "|".join(POLICIES))
    ev.add_argument("--scenario", default="trained",
                    help="'trained' (a run's own scenario; 'paper' for baselines), 'paper' or a TOML file")
    ev.add_argument("--steps", type=int, default=250)
    ev.add_argument("--warmup", type=int, default=0, help="steps of the same policy before measuring")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--out", help="also write OUT/evaluation.json")


def _add_similarity(sub: Any) -> None:
    """``similarity``'s flags."""
    simp = sub.add_parser("similarity", help="VAE distance matrix between a trained run's agents (paper Fig. 7)")
    simp.add_argument("--run", required=True, help="a training run directory")
    simp.add_argument("--samples", type=int, default=500, help="samples per agent under equal shares")
    simp.add_argument("--observation", default="log", choices=("log", "clipped"),
                      help="state normalisation of the VAE's samples (default log: nothing clipped)")
    simp.add_argument("--epochs", type=int, default=300, help="VAE training epochs")
    simp.add_argument("--seed", type=int, default=1000)
    simp.add_argument("--measure", default="vae-kl-equal-sigma",
                      help="measure used for the printed ranking (default: the paper's eqs. 7 + 9)")


def _add_transfer(sub: Any) -> None:
    """``transfer``'s flags."""
    tr = sub.add_parser("transfer", help="transfer to a new agent in one cell of a trained run (vs DRL from scratch)")
    tr.add_argument("--run", required=True, help="a finished training run directory")
    tr.add_argument("--target", type=int, default=None, help="target cell (0-based; transfer.target, default 0)")
    tr.add_argument("--source", default=None, help="source cell (0-based) or 'auto' (default: nearest by --measure)")
    tr.add_argument("--strategy", default=None, help="integrated (default) | model | feature | instance")
    tr.add_argument("--measure", default=None, help="measure of --source auto (default: eqs. 7 + 9)")
    tr.add_argument("--steps", type=int, default=None, help="TL training steps (default 4000)")
    tr.add_argument("--eval-steps", type=int, default=None, help="greedy steps after training (default 250)")
    tr.add_argument("--exploration-noise", type=float, default=None,
                    help="exploration noise of the new cell's TL learner (default: the run's own, as in the paper)")
    tr.add_argument("--instance-rewards", choices=("source", "target"), default=None,
                    help="transferred instances keep the source's rewards (paper) or are relabelled under the "
                         "target's requirements")
    tr.add_argument("--no-scratch", action="store_true", help="skip the DRL-from-scratch comparison replica")
    tr.add_argument("--out", help="result folder (default: RUN/transfer/target<K>_<strategy>_from<I>)")
    _add_settings_args(tr, "transfer, td3 (the new cell's learners; default: the run's)")


def _add_reproduce_and_sweep(sub: Any) -> None:
    """``reproduce`` and ``sweep`` (the same flags; sweep adds ``--grid``)."""
    for name, text in (("reproduce", "the paper's whole study: baseline, MADRL, similarity, transfer, report"),
                       ("sweep", "a grid of settings x seeds, each point a reproduce run; one tidy CSV")):
        rep = sub.add_parser(name, help=text)
        rep.add_argument("--scenario", default="paper", help="'paper' or a scenario TOML file")
        rep.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5; 1 with --quick)")
        rep.add_argument("--targets", default=None,
                         help="target cells, paper labels (1-based): 'auto' (default: every cell of a network of up to "
                              "12, else 12 spread over requirement groups, interior and edge), 'all' or a list like 1,4")
        rep.add_argument("--quick", action="store_true", help="short schedule, one seed, small sweeps (< 2 minutes)")
        rep.add_argument("--out", default=f"runs/{name}")
        rep.add_argument("--resume", action="store_true",
                         help="continue an interrupted run without redoing finished phases")
        rep.add_argument("--executor", choices=("local", "ray"), default="local",
                         help="local process pool (default) or a Ray cluster (pip install 'pyslice[ray]')")
        rep.add_argument("--ray-address", default=None,
                         help="with --executor ray: 'auto' (this machine's cluster) or HOST:PORT of a head node "
                              "(default: start a local Ray instance)")
        rep.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPU count)")
        _add_settings_args(rep, "scenario, train, td3, reproduce, vae")
        if name == "sweep":
            rep.add_argument("--grid", action="append", metavar="KEY=V1,V2,...",
                             help="a setting and its values (TOML literals, comma-separated; repeatable: the "
                                  "grid is their product), e.g. td3.actor_lr=5e-4,1e-4")
        else:
            _add_tensorboard_arg(rep)
        rep.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_calibrate(sub: Any) -> None:
    """``calibrate``'s flags."""
    cal = sub.add_parser("calibrate", help="3GPP calibration of the radio model: coupling loss and geometry "
                                           "CDFs vs TR 36.873 / TR 38.901 (docs/calibration.md)")
    cal.add_argument("--case", action="append", metavar="CASE",
                     help="36.873-uma-k1|36.873-uma-k10|36.873-umi-k1|36.873-umi-k10|38.901-uma|38.901-umi "
                          "(repeatable; default all six)")
    cal.add_argument("--drops", type=int, default=50, help="independent drops per case (570 UEs each)")
    cal.add_argument("--seed", type=int, default=0, help="seed of the first drop (drop i uses seed + i)")
    cal.add_argument("--out", default="runs/calibrate")
    cal.add_argument("--radio", action="append", metavar="KEY=VALUE",
                     help="override a [radio] key of every case (repeatable), e.g. indoor_los_distance=total")
    cal.add_argument("--noise", action="store_true",
                     help="geometry with thermal noise (10 MHz for 36.873, 20 MHz for 38.901); default without")
    cal.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_compare(sub: Any) -> None:
    """``compare``'s flags."""
    cmp = sub.add_parser("compare", help="two reproduce runs side by side: a controlled ablation judged per "
                                         "(seed, target) with intervals and verdicts")
    cmp.add_argument("reference", help="the reference run directory (results.json)")
    cmp.add_argument("variant", help="the variant run directory: the same seeds and targets, one change")
    cmp.add_argument("--out", help="also write the table to this Markdown file")


def _add_verify(sub: Any) -> None:
    """``verify``'s flags."""
    ver = sub.add_parser("verify", help="check that a run's files are as written (sizes and SHA-256 of its done markers)")
    ver.add_argument("dir", help="a run directory (train, transfer, reproduce or sweep)")


def _add_bench(sub: Any) -> None:
    """``bench``'s flags."""
    bench = sub.add_parser("bench", help="run the benchmarks of bench/ and print their ratios")
    bench.add_argument("--quick", action="store_true", help="small sizes, short timings")
    bench.add_argument("--dir", help="the bench/ folder (default: found from the working directory)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyslice", description=__doc__)
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="print the version, the build and the SIMD level of the kernels, and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_simulate, _add_train, _add_evaluate, _add_similarity, _add_transfer, _add_reproduce_and_sweep, _add_compare, _add_calibrate,
                _add_verify, _add_bench):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "steps", None) is not None and args.steps < 1:
        print("error: --steps must be >= 1", file=sys.stderr)
        return 2
    try:
        # the one import a command needs: its own module (and what that module imports)
        return importlib.import_module(f"pyslice.commands.{args.command}").run(args)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TaskFailures as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.command in ("train", "reproduce", "sweep"):
            print(f"\ninterrupted: finished work is saved; continue with `pyslice {args.command} ... --resume`",
                  file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
