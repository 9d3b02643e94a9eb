"""Command line: ``pyslice simulate|train|evaluate|similarity|transfer|reproduce|sweep|calibrate|verify|bench ...``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pyslice.sim.scenario import Scenario

POLICIES = ("equal", "traffic-aware", "max-min")


def load_scenario(spec: str) -> Scenario:
    """``paper`` or a path to a scenario TOML file (``trained`` means paper for baselines)."""
    if spec in ("paper", "trained"):
        return Scenario.paper()
    path = Path(spec)
    if not path.is_file():
        raise SystemExit(f"error: --scenario must be 'paper' or an existing TOML file, got {spec!r}")
    return Scenario.from_toml(path)


def cmd_simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pyslice.sim.core_config import site_positions
    from pyslice.sim.plots import plot_kpi_series, plot_network
    from pyslice.sim.simulate import run_policy, write_record

    scenario = load_scenario(args.scenario)
    out = Path(args.out)
    with tqdm(total=args.steps, desc=f"simulate {args.policy}", unit="step", disable=args.quiet) as bar:
        record = run_policy(scenario, args.steps, args.seed, args.policy, progress=bar.update)
    written = write_record(record, out, args.format)
    if args.plot:
        st = record.final_state
        sites = site_positions(scenario)
        written.append(plot_network(scenario, sites, st["positions"], st["serving"], st["active"],
                                    out / "network.png", cell_load=record.arrays["cell_load"].mean(axis=0)))
        written.append(plot_kpi_series(record.arrays, record.reward, [s.name for s in scenario.slices],
                                       out / "kpis.png"))
    print(json.dumps(record.summary(), indent=2))
    for p in written:
        print(f"wrote {p}")
    return 0


def _settings_from_args(settings: Any, args: argparse.Namespace, flags: dict[str, Any]) -> dict[str, Any]:
    """Defaults ← ``--config FILE`` ← the command's own flags (those given) ← ``--set`` items; the
    built (validated) objects."""
    from pyslice.settings import apply_overrides

    if getattr(args, "config", None):
        settings.merge_file(args.config)
    given = [(tuple(key.split(".")), value, flag) for key, (flag, value) in flags.items() if value is not None]
    settings.update(given, ", ".join(f"{flag} {value}" for _, value, flag in given))
    apply_overrides(settings, args.set or [])
    return settings.objects


def cmd_train(args: argparse.Namespace) -> int:
    from pyslice.settings import train_settings
    from pyslice.learn.td3 import use_one_thread

    use_one_thread()
    settings = train_settings(load_scenario(args.scenario))
    objects = _settings_from_args(settings, args, {
        "train.exploration_steps": ("--exploration-steps", args.exploration_steps),
        "train.training_steps": ("--training-steps", args.training_steps),
        "train.evaluation_steps": ("--evaluation-steps", args.evaluation_steps),
        "train.checkpoint_every": ("--checkpoint-every", args.checkpoint_every),
        "train.seed": ("--seed", args.seed)})
    scenario, config = objects["scenario"], objects["train"]
    tb_dir = _tensorboard_dir(args)
    from pyslice.base.runlock import RunLock

    with RunLock(args.out):  # one writer per run directory
        summary = _train(scenario, config, settings, args, tb_dir)
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}/policy.pt, train_log.csv, summary.json, config.toml")
    return 0


def _train(scenario: Any, config: Any, settings: Any, args: argparse.Namespace, tb_dir: Path | None) -> dict:
    from tqdm import tqdm

    from pyslice.base.atomic import write_text
    from pyslice.learn.train import Trainer

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


def _tensorboard_dir(args: argparse.Namespace) -> Path | None:
    """``--tensorboard DIR``, checked before anything runs (the optional extra must be installed)."""
    if getattr(args, "tensorboard", None) is None:
        return None
    from pyslice.learn.tensorboard import require_tensorboard

    require_tensorboard()
    return Path(args.tensorboard)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pyslice.learn.train import evaluate, load_policy

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
        from pyslice.base.atomic import write_json

        write_json(Path(args.out) / "evaluation.json", result)
    return 0


def _run_scenario(run: Path) -> Scenario:
    """The scenario a training run directory was trained on (its run.json)."""
    meta = run / "run.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{run} is not a training run (no run.json); train one with `pyslice train --out {run}`")
    return Scenario.from_dict(json.loads(meta.read_text())["scenario"])


def cmd_similarity(args: argparse.Namespace) -> int:
    from pyslice.base.atomic import write_json
    from pyslice.study.similarity import MEASURES, analyse, collect_default_samples, plot_distance_matrix, save_distance_csv
    from pyslice.learn.vae import VAEConfig

    run = Path(args.run)
    scenario = _run_scenario(run)
    if args.samples < 2:
        raise ValueError(f"--samples must be >= 2, got {args.samples}")
    from pyslice.learn.train import TrainConfig

    train_cfg = TrainConfig.from_dict(json.loads((run / "run.json").read_text())["train"])
    samples = collect_default_samples(scenario, args.samples, seed=args.seed, replicas=4,
                                      n_neighbours=train_cfg.n_neighbours, observation=args.observation)
    matrices = analyse(samples, VAEConfig(epochs=args.epochs, seed=args.seed), MEASURES)
    out = run / "similarity"
    ranked = {}
    for measure, D in matrices.items():
        name = measure.replace("-", "_")
        save_distance_csv(D, out / f"distance_{name}.csv")
        plot_distance_matrix(D, out / f"distance_{name}.png", title=f"Inter-agent distance ({measure}), D[source, target]")
        ranked[measure] = {str(k): [int(i) for i in np.argsort(D[:, k], kind="stable") if i != k] for k in range(len(D))}
    write_json(out / "ranked_sources.json", ranked)
    D = matrices[args.measure]
    print(f"nearest sources by {args.measure} (cell labels 1-based):")
    for k in range(len(D)):
        print(f"  target {k + 1:>3}: " + ", ".join(str(i + 1) for i in ranked[args.measure][str(k)][:5]))
    print(f"wrote {out}/distance_*.csv, distance_*.png, ranked_sources.json")
    return 0


def cmd_transfer(args: argparse.Namespace) -> int:
    from pyslice.settings import transfer_settings
    from pyslice.study.similarity import load_distance_csv
    from pyslice.learn.td3 import use_one_thread
    from pyslice.learn.train import TrainConfig
    from pyslice.study.transfer import STRATEGIES

    use_one_thread()
    run = Path(args.run)
    scenario = _run_scenario(run)
    run_td3 = TrainConfig.from_dict(json.loads((run / "run.json").read_text())["train"]).td3
    settings = transfer_settings(run_td3)
    source = None if args.source is None else (args.source if args.source == "auto" else _cell_arg("--source", args.source))
    t = _settings_from_args(settings, args, {
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
    from pyslice.base.runlock import RunLock

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
    from pyslice.base.atomic import write_text
    from pyslice.study.transfer import run_transfer

    result = run_transfer(run, target, sources, t["strategy"], t["steps"], t["eval_steps"],
                          include_scratch=t["include_scratch"], distance=distance, out_dir=out,
                          exploration_noise=t["exploration_noise"], instance_rewards=t["instance_rewards"],
                          td3=td3 if td3 != run_td3 else None)
    write_text(out / "config.toml", settings.toml())
    from pyslice.base.artifacts import mark_done

    mark_done(out, result.wall_seconds)  # last: the result's files, verifiable (pyslice verify)
    return result


def _cell_arg(flag: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag} must be 'auto' or a cell index, got {text!r}") from None


def parse_targets(text: str, n_cells: int) -> tuple[int, ...]:
    """``--targets``: ``all`` or 1-based cell labels ``1,4`` → 0-based indices (sorted, unique)."""
    if text.strip() == "all":
        return tuple(range(n_cells))
    try:
        labels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--targets must be 'all' or comma-separated cell labels in 1..{n_cells}, got {text!r}") from None
    if not labels or any(not 1 <= c <= n_cells for c in labels):
        raise ValueError(f"--targets must be 'all' or comma-separated cell labels in 1..{n_cells}, got {text!r}")
    return tuple(sorted({c - 1 for c in labels}))


def _reproduce_objects(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(scenario, ReproduceConfig, settings) of ``reproduce``/``sweep`` from the command line."""
    from pyslice.study.experiment import ReproduceConfig
    from pyslice.settings import reproduce_settings

    scenario = load_scenario(args.scenario)
    settings = reproduce_settings(scenario, ReproduceConfig.quick() if args.quick else ReproduceConfig())
    n_cells = scenario.n_cells
    targets = None if args.targets is None else list(parse_targets(args.targets, n_cells))
    if args.seeds is not None and (args.seeds < 1):
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    objects = _settings_from_args(settings, args, {"reproduce.seeds": ("--seeds", args.seeds),
                                                   "reproduce.targets": ("--targets", targets)})
    return objects["scenario"], objects["reproduce"], settings


def _executor(args: argparse.Namespace) -> Any:
    from pyslice.study.executor import make_executor

    return make_executor(args.executor, args.workers, args.ray_address)


def _print_claims(results: dict[str, Any]) -> None:
    for claim in results["claims"]:
        print(f"[{claim.get('verdict', 'holds' if claim['holds'] else 'does not hold')}] {claim['claim']}")
    print("phase wall time (s, summed over seeds): " +
          ", ".join(f"{k} {v:.1f}" for k, v in results["phase_seconds"].items()) + f"; total {results['wall_seconds']:.1f}")


def cmd_reproduce(args: argparse.Namespace) -> int:
    from pyslice.study.experiment import reproduce

    scenario, cfg, _ = _reproduce_objects(args)
    tb_dir = _tensorboard_dir(args)
    executor = _executor(args)
    results = reproduce(scenario, cfg, args.out, executor=executor, resume=args.resume, progress=not args.quiet,
                        tensorboard=tb_dir)
    _print_claims(results)
    print(f"wrote {args.out}/report.md, results.json, results.csv, config.toml and figures/")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from pyslice.study.sweep import parse_grid, run_sweep

    if not args.grid:
        raise ValueError("--grid is required: section.key=v1,v2 (repeatable), e.g. --grid td3.actor_lr=5e-4,1e-4")
    grid = parse_grid(args.grid)
    scenario, cfg, settings = _reproduce_objects(args)
    summary = run_sweep(settings, grid, args.out, executor=_executor(args), resume=args.resume,
                        progress=not args.quiet)
    print(summary["table"])
    print(f"wrote {args.out}/sweep.csv, summary.md, summary.csv, points.json and one run directory per point")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from pyslice.base.artifacts import verify_tree

    root = Path(args.dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    n_units, problems = verify_tree(root)
    if n_units == 0:
        print(f"error: {root} holds no finished units (no done.json): nothing to verify", file=sys.stderr)
        return 1
    for unit, problem in problems:
        print(f"MISMATCH {unit.relative_to(root) if unit != root else '.'}: {problem}")
    print(f"checked {n_units} units under {root}: " + ("all files as written" if not problems
                                                        else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


def _radio_overrides(items: list[str] | None) -> dict[str, Any]:
    """``--radio KEY=VALUE`` items as radio field overrides (VALUE a TOML literal or a bare word)."""
    import tomllib

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--radio takes KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value
    return out


def cmd_calibrate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pyslice.base.atomic import write_json
    from pyslice.sim.calibration import (CASES, TOLERANCE_DB, calibration_scenario, compare, reference,
                                         run_calibration, scenario_samples, table_lines)
    from pyslice.sim.plots import plot_calibration_case

    cases = args.case or list(CASES)
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise ValueError(f"--case must be among {', '.join(CASES)}, got {', '.join(unknown)}")
    if args.drops < 1:
        raise ValueError(f"--drops must be >= 1, got {args.drops}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    overrides = _radio_overrides(args.radio)
    for case in cases:  # every set-up validated before anything runs or is written
        calibration_scenario(CASES[case], radio_overrides=overrides)
    with tqdm(total=len(cases) * args.drops, desc="calibrate", unit="drop", disable=args.quiet) as bar:
        results = run_calibration(cases, args.drops, args.seed, progress=lambda case, drop: bar.update(),
                                  radio_overrides=overrides, noise=args.noise)
    out = Path(args.out)
    samples = results.pop("samples")
    rows = compare(results)
    write_json(out / "calibration.json", results)
    written = [out / "calibration.json"]
    ref = reference()["cases"]
    for case in cases:
        written.append(plot_calibration_case(f"3GPP calibration {case}", samples[case], ref[case], TOLERANCE_DB[case],
                                             out / f"calibration_{case}.png"))
    paper = scenario_samples(Scenario.paper(), min(args.drops, 20), args.seed)
    written.append(plot_calibration_case("paper scenario (WINNER+ C2, 4 sites) vs 3GPP 36.873 3D-UMa K = M = 1",
                                         paper, ref["36.873-uma-k1"], TOLERANCE_DB["36.873-uma-k1"],
                                         out / "paper_vs_3gpp.png", label="paper scenario"))
    print("\n".join(table_lines(rows)))
    checked = [r for r in rows if r["within"] is not None]
    print(f"{sum(r['within'] for r in checked)}/{len(checked)} checked points within tolerance "
          "(1 dB for 36.873, 1.5 dB for 38.901, at 5/50/95 %)")
    for p in written:
        print(f"wrote {p}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pyslice.bench import run_benchmarks

    run_benchmarks(quick=args.quick, bench_dir=Path(args.dir) if args.dir else None)
    return 0


def _add_settings_args(parser: argparse.ArgumentParser, sections: str) -> None:
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help=f"override a setting ({sections}), e.g. td3.actor_lr=1e-4; the value is a TOML "
                             "literal or a bare word, 'none' unsets; repeatable")
    parser.add_argument("--config", metavar="FILE",
                        help="settings TOML (e.g. a run's config.toml); flags and --set apply on top")


def _add_tensorboard_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tensorboard", metavar="DIR", default=None,
                        help="also write TensorBoard logs to DIR (pip install 'pyslice[tensorboard]')")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyslice", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="run the simulator under a fixed share policy, write KPIs")
    sim.add_argument("--scenario", default="paper", help="'paper' or a scenario TOML file")
    sim.add_argument("--steps", type=int, default=1000)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--policy", choices=POLICIES, default="traffic-aware")
    sim.add_argument("--out", default="runs/simulate")
    sim.add_argument("--format", choices=("csv", "npz"), default="csv", help="npz is compact for long runs")
    sim.add_argument("--plot", action="store_true", help="also draw network.png and kpis.png")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.set_defaults(func=cmd_simulate)
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
    train.set_defaults(func=cmd_train)
    ev = sub.add_parser("evaluate", help="evaluate a trained run (DIR) or a baseline policy")
    ev.add_argument("--policy", required=True, help="a run directory with policy.pt, or " + "|".join(POLICIES))
    ev.add_argument("--scenario", default="trained",
                    help="'trained' (a run's own scenario; 'paper' for baselines), 'paper' or a TOML file")
    ev.add_argument("--steps", type=int, default=250)
    ev.add_argument("--warmup", type=int, default=0, help="steps of the same policy before measuring")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--out", help="also write OUT/evaluation.json")
    ev.set_defaults(func=cmd_evaluate)
    simp = sub.add_parser("similarity", help="VAE distance matrix between a trained run's agents (paper Fig. 7)")
    simp.add_argument("--run", required=True, help="a training run directory")
    simp.add_argument("--samples", type=int, default=500, help="samples per agent under equal shares")
    simp.add_argument("--observation", default="log", choices=("log", "clipped"),
                      help="state normalisation of the VAE's samples (default log: nothing clipped)")
    simp.add_argument("--epochs", type=int, default=300, help="VAE training epochs")
    simp.add_argument("--seed", type=int, default=1000)
    simp.add_argument("--measure", default="vae-kl-equal-sigma",
                      help="measure used for the printed ranking (default: the paper's eqs. 7 + 9)")
    simp.set_defaults(func=cmd_similarity)
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
    tr.set_defaults(func=cmd_transfer)
    for name, text in (("reproduce", "the paper's whole study: baseline, MADRL, similarity, transfer, report"),
                       ("sweep", "a grid of settings x seeds, each point a reproduce run; one tidy CSV")):
        rep = sub.add_parser(name, help=text)
        rep.add_argument("--scenario", default="paper", help="'paper' or a scenario TOML file")
        rep.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5; 1 with --quick)")
        rep.add_argument("--targets", default=None,
                         help="target cells, paper labels (1-based): 'all' (default) or a comma list like 1,4")
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
            rep.set_defaults(func=cmd_sweep)
        else:
            _add_tensorboard_arg(rep)
            rep.set_defaults(func=cmd_reproduce)
        rep.add_argument("--quiet", action="store_true", help="no progress bar")
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
    cal.set_defaults(func=cmd_calibrate)
    ver = sub.add_parser("verify", help="check that a run's files are as written (sizes and SHA-256 of its done markers)")
    ver.add_argument("dir", help="a run directory (train, transfer, reproduce or sweep)")
    ver.set_defaults(func=cmd_verify)
    bench = sub.add_parser("bench", help="run the benchmarks of bench/ and print their ratios")
    bench.add_argument("--quick", action="store_true", help="small sizes, short timings")
    bench.add_argument("--dir", help="the bench/ folder (default: found from the working directory)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "steps", None) is not None and args.steps < 1:
        print("error: --steps must be >= 1", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        from pyslice.study.executor import TaskFailures

        if not isinstance(exc, TaskFailures):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.command in ("train", "reproduce", "sweep"):
            print(f"\ninterrupted: finished work is saved; continue with `pyslice {args.command} ... --resume`",
                  file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
