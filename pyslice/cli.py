"""Command line: ``pyslice simulate|train|evaluate|similarity|transfer|reproduce|bench ...``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from pyslice.scenario import Scenario

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

    from pyslice.core_config import site_positions
    from pyslice.plots import plot_kpi_series, plot_network
    from pyslice.simulate import run_policy, write_record

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


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pyslice.td3 import use_one_thread
    from pyslice.train import Trainer, TrainConfig

    use_one_thread()
    scenario = load_scenario(args.scenario)
    config = TrainConfig(exploration_steps=args.exploration_steps, training_steps=args.training_steps,
                         evaluation_steps=args.evaluation_steps, checkpoint_every=args.checkpoint_every,
                         seed=args.seed)
    trainer = Trainer(scenario, config, args.out, resume=args.resume)
    recent: list[float] = []
    with tqdm(total=config.total_steps, initial=trainer.step, desc="train", unit="step", disable=args.quiet) as bar:
        def progress(step: int, phase: str, mean_reward: float) -> None:
            recent.append(mean_reward)
            del recent[:-100]
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(phase=phase, reward=f"{np.mean(recent):.3f}")

        summary = trainer.run(progress=progress)
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}/policy.pt, train_log.csv, summary.json")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pyslice.train import evaluate, load_policy

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
        from pyslice.atomic import write_json

        write_json(Path(args.out) / "evaluation.json", result)
    return 0


def _run_scenario(run: Path) -> Scenario:
    """The scenario a training run directory was trained on (its run.json)."""
    meta = run / "run.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{run} is not a training run (no run.json); train one with `pyslice train --out {run}`")
    return Scenario.from_dict(json.loads(meta.read_text())["scenario"])


def cmd_similarity(args: argparse.Namespace) -> int:
    from pyslice.atomic import write_json
    from pyslice.similarity import MEASURES, analyse, collect_default_samples, plot_distance_matrix, save_distance_csv
    from pyslice.vae import VAEConfig

    run = Path(args.run)
    scenario = _run_scenario(run)
    if args.samples < 2:
        raise ValueError(f"--samples must be >= 2, got {args.samples}")
    from pyslice.train import TrainConfig

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
    from pyslice.similarity import load_distance_csv
    from pyslice.td3 import use_one_thread
    from pyslice.transfer import STRATEGIES, run_transfer

    use_one_thread()
    run = Path(args.run)
    scenario = _run_scenario(run)
    n_cells = 3 * scenario.layout.n_sites
    if not 0 <= args.target < n_cells:
        raise ValueError(f"--target must be in [0, {n_cells - 1}], got {args.target}")
    if args.strategy not in STRATEGIES or args.strategy == "none":
        raise ValueError(f"--strategy must be one of {', '.join(STRATEGIES[:-1])}, got {args.strategy!r}")
    distance = None
    csv_path = run / "similarity" / f"distance_{args.measure.replace('-', '_')}.csv"
    if csv_path.is_file():
        distance = load_distance_csv(csv_path)
    if args.source == "auto":
        if distance is None:
            raise FileNotFoundError(f"--source auto needs {csv_path}: run `pyslice similarity --run {run}` first")
        sources = [min((i for i in range(n_cells) if i != args.target), key=lambda i: (distance[i, args.target], i))]
    else:
        source = int(args.source)
        if not 0 <= source < n_cells or source == args.target:
            raise ValueError(f"--source must be 'auto' or a cell in [0, {n_cells - 1}] other than the target, got {source}")
        sources = [source]
    out = Path(args.out) if args.out else run / "transfer" / f"target{args.target}_{args.strategy}_from{sources[0]}"
    result = run_transfer(run, args.target, sources, args.strategy, args.steps, args.eval_steps,
                          include_scratch=not args.no_scratch, distance=distance, out_dir=out,
                          exploration_noise=args.exploration_noise, instance_rewards=args.instance_rewards)
    summary = result.summary()
    print(json.dumps({"sources": summary["sources"], "eval": summary["eval"],
                      "mean_reward": summary["mean_reward"], "gain_over_scratch": summary.get("gain_over_scratch")},
                     indent=2))
    print(f"wrote {out}/transfer.json, transfer.npz")
    return 0


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


def cmd_reproduce(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from pyslice.executor import LocalExecutor, SerialExecutor
    from pyslice.experiment import ReproduceConfig, reproduce

    scenario = load_scenario(args.scenario)
    cfg = ReproduceConfig.quick() if args.quick else ReproduceConfig()
    if args.seeds is not None:
        if args.seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
        cfg = replace(cfg, seeds=args.seeds)
    if args.targets is not None:
        cfg = replace(cfg, targets=parse_targets(args.targets, 3 * scenario.layout.n_sites))
    executor = SerialExecutor() if args.workers == 1 else LocalExecutor(args.workers)
    results = reproduce(scenario, cfg, args.out, executor=executor, resume=args.resume, progress=not args.quiet)
    for claim in results["claims"]:
        print(f"[{claim.get('verdict', 'holds' if claim['holds'] else 'does not hold')}] {claim['claim']}")
    print("phase wall time (s, summed over seeds): " +
          ", ".join(f"{k} {v:.1f}" for k, v in results["phase_seconds"].items()) + f"; total {results['wall_seconds']:.1f}")
    print(f"wrote {args.out}/report.md, results.json and figures/")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pyslice.bench import run_benchmarks

    run_benchmarks(quick=args.quick, bench_dir=Path(args.dir) if args.dir else None)
    return 0


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
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default="runs/train")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.add_argument("--exploration-steps", type=int, default=3000)
    train.add_argument("--training-steps", type=int, default=5500)
    train.add_argument("--evaluation-steps", type=int, default=250)
    train.add_argument("--checkpoint-every", type=int, default=1000)
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
    tr.add_argument("--target", type=int, required=True, help="target cell (0-based)")
    tr.add_argument("--source", default="auto", help="source cell (0-based) or 'auto' (nearest by --measure)")
    tr.add_argument("--strategy", default="integrated", help="integrated | model | feature | instance")
    tr.add_argument("--measure", default="vae-kl-equal-sigma", help="measure of --source auto (default: eqs. 7 + 9)")
    tr.add_argument("--steps", type=int, default=4000)
    tr.add_argument("--eval-steps", type=int, default=250)
    tr.add_argument("--exploration-noise", type=float, default=None,
                    help="exploration noise of the new cell's TL learner (default: the run's own, as in the paper)")
    tr.add_argument("--instance-rewards", choices=("source", "target"), default="source",
                    help="transferred instances keep the source's rewards (paper) or are relabelled under the "
                         "target's requirements")
    tr.add_argument("--no-scratch", action="store_true", help="skip the DRL-from-scratch comparison replica")
    tr.add_argument("--out", help="result folder (default: RUN/transfer/target<K>_<strategy>_from<I>)")
    tr.set_defaults(func=cmd_transfer)
    rep = sub.add_parser("reproduce", help="the paper's whole study: baseline, MADRL, similarity, transfer, report")
    rep.add_argument("--scenario", default="paper", help="'paper' or a scenario TOML file")
    rep.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5; 1 with --quick)")
    rep.add_argument("--targets", default=None,
                     help="target cells, paper labels (1-based): 'all' (default) or a comma list like 1,4")
    rep.add_argument("--quick", action="store_true", help="short schedule, one seed, small sweeps (< 2 minutes)")
    rep.add_argument("--out", default="runs/reproduce")
    rep.add_argument("--resume", action="store_true", help="continue an interrupted run without redoing finished phases")
    rep.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count)")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.set_defaults(func=cmd_reproduce)
    bench = sub.add_parser("bench", help="run the benchmarks of bench/ and print their ratios")
    bench.add_argument("--quick", action="store_true", help="small sizes, short timings")
    bench.add_argument("--dir", help="the bench/ folder (default: found from the working directory)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "steps", 1) < 1:
        print("error: --steps must be >= 1", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command in ("train", "reproduce"):
            print(f"\ninterrupted: finished work is saved; continue with `pyslice {args.command} ... --resume`",
                  file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
