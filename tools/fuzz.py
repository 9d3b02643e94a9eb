"""Run the fuzz harness (tests/fuzz_strategies.py, the targets of tests/test_fuzz.py) for many cases.

    python tools/fuzz.py --cases 10000 [--seed S] [--targets a,b] [--case-timeout SECONDS]

The cases are split evenly over the targets (a state machine's cases are its rule calls). Each
target runs in a subprocess, so a crash of the interpreter (a segfault) is reported with the case
that caused it; a case running past the time limit is a hang. Prints the cases and outcomes per
target (refused: a clean ValueError/TypeError; finite: finite results of the documented shapes;
accepted: a valid scenario too big to step, checked by its round trips) and exits 1 on any other
exception, a non-finite result, a crash or a hang, with hypothesis' falsifying example."""
from __future__ import annotations

import argparse
import faulthandler
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
STEPS = 20  # rule calls per state-machine program at most
OUTCOMES = ("refused", "finite", "accepted")
HANG = 124  # a child's exit status after a case ran past its time limit


def strategies() -> Any:
    """The tests' fuzz_strategies module."""
    sys.path.insert(0, str(TESTS))
    import fuzz_strategies

    return fuzz_strategies


# ---- the child: one target ------------------------------------------------------------------------


def arm(case_file: Path, limit: float) -> Any:
    """A case hook that writes the running case (a machine's program so far) to ``case_file`` and
    gives it ``limit`` seconds: SIGALRM ends the child (exit HANG), faulthandler a hang inside the core."""
    program: list[str] = []

    def on_alarm(signum: int, frame: Any) -> None:  # no shrinking: each try would take the limit again
        sys.stderr.write(f"a case ran past {limit:g} s\n")
        faulthandler.dump_traceback()
        os._exit(HANG)

    signal.signal(signal.SIGALRM, on_alarm)

    def hook(text: str, new_program: bool) -> None:
        if new_program:
            program.clear()
        program.append(text)
        case_file.write_text("\n".join(program))
        signal.setitimer(signal.ITIMER_REAL, limit)
        faulthandler.dump_traceback_later(3 * limit, exit=True)

    return hook


def run_target(fs: Any, name: str, cases: int, seed: int) -> None:
    """Run ``cases`` cases of target ``name`` (rule calls, for a machine) from ``seed``."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as with_seed
    from hypothesis.stateful import run_state_machine_as_test

    common = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
    if name in fs.MACHINES:
        machine = with_seed(seed)(fs.MACHINES[name])
        programs = max(1, math.ceil(cases / (STEPS * 0.75)))
        run_state_machine_as_test(machine, settings=settings(common, max_examples=programs, stateful_step_count=STEPS))
        return
    target = fs.targets()[name]

    @with_seed(seed)
    @settings(common, max_examples=cases)
    @given(target.arguments)
    def run(arguments: tuple) -> None:
        target.check(*arguments)

    run()


def child(name: str, cases: int, seed: int, case_file: Path, limit: float) -> int:
    """Run one target and print its outcome counts as a JSON line; 1 on a failure."""
    faulthandler.enable()  # a crash prints the Python traceback too
    fs = strategies()
    fs.CASE_HOOKS.append(arm(case_file, limit))
    error = None
    try:
        run_target(fs, name, cases, seed)
    except BaseException:  # noqa: BLE001 - every failure is reported, with hypothesis' example
        error = traceback.format_exc()
    signal.setitimer(signal.ITIMER_REAL, 0)
    faulthandler.cancel_dump_traceback_later()
    counts = {outcome: n for (target, outcome), n in fs.OUTCOMES.items() if target == name}
    print(json.dumps({"outcomes": counts, "error": error}), flush=True)
    return 1 if error else 0


# ---- the parent: every target in a subprocess -----------------------------------------------------


def run_child(name: str, cases: int, args: argparse.Namespace, case_file: Path) -> tuple[dict, str | None, float]:
    """(outcome counts, failure report or None, seconds) of one target's subprocess."""
    cmd = [sys.executable, __file__, "--child", name, "--cases", str(cases), "--seed", str(args.seed),
           "--case-timeout", str(args.case_timeout), "--case-file", str(case_file)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.target_timeout)
    except subprocess.TimeoutExpired:
        return {}, f"hang: the target ran past {args.target_timeout} s; last case:\n{last_case(case_file)}", \
            time.perf_counter() - start
    seconds = time.perf_counter() - start
    report = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    if proc.returncode == HANG:
        failure = f"hang: a case ran past {args.case_timeout:g} s:\n{last_case(case_file)}\n{proc.stderr[-4000:]}"
    elif proc.returncode < 0:
        failure = f"crash: signal {-proc.returncode} ({signal.Signals(-proc.returncode).name}) on the case:\n" \
                  f"{last_case(case_file)}\n{proc.stderr[-4000:]}"
    elif proc.returncode != 0:
        failure = report.get("error") or f"exit {proc.returncode} (a hang ends through faulthandler); last case:\n" \
                                         f"{last_case(case_file)}\n{proc.stderr[-4000:]}"
    else:
        failure = None
    return report.get("outcomes", {}), failure, seconds


def last_case(case_file: Path) -> str:
    return case_file.read_text() if case_file.exists() else "(none recorded)"


def parent(args: argparse.Namespace) -> int:
    """Run every target, print the table of cases and outcomes and any failures; 1 on a failure."""
    fs = strategies()
    names = args.targets.split(",") if args.targets else [*fs.targets(), *fs.MACHINES]
    per_target = math.ceil(args.cases / len(names))
    failures = []
    totals = dict.fromkeys(OUTCOMES, 0)
    start = time.perf_counter()
    print(f"{'target':<18} {'cases':>7} {'refused':>8} {'finite':>8} {'accepted':>9} {'seconds':>8}")
    with tempfile.TemporaryDirectory(prefix="pyslice-fuzz-") as tmp:
        for name in names:
            counts, failure, seconds = run_child(name, per_target, args, Path(tmp) / f"{name}.case")
            row = [counts.get(o, 0) for o in OUTCOMES]
            print(f"{name:<18} {sum(row):>7} {row[0]:>8} {row[1]:>8} {row[2]:>9} {seconds:>8.1f}", flush=True)
            totals = {o: totals[o] + n for o, n in zip(OUTCOMES, row)}
            if failure:
                failures.append((name, failure))
    row = [totals[o] for o in OUTCOMES]
    print(f"{'total':<18} {sum(row):>7} {row[0]:>8} {row[1]:>8} {row[2]:>9} {time.perf_counter() - start:>8.1f}")
    for name, failure in failures:
        print(f"\nFAILED {name}:\n{failure}")
    print(f"\n{len(failures)} failed target(s)" if failures else "\nno failures")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases in total, split over the targets")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (the same seed, the same cases)")
    parser.add_argument("--targets", default="", help="comma-separated targets (default: all)")
    parser.add_argument("--case-timeout", type=float, default=30.0, help="seconds one case may take")
    parser.add_argument("--target-timeout", type=float, default=3600.0, help="seconds one target may take")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--case-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.cases, args.seed, args.case_file, args.case_timeout)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
