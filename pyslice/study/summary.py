"""The study's headline table: each method's levels and each claim with its verdict and intervals,
in one Markdown table (:func:`headline_table`). The README and docs/results.md quote it verbatim for
the kept results of the default and busy-hour runs (``docs/data/``), and tests/test_docs_numbers.py
checks that they still do."""
from __future__ import annotations

import math

from pyslice.study.claims import PAPER, STEPS
from pyslice.study.methods import METHODS
from pyslice.study.generalist_study import COMPARED, REDUCTION
from pyslice.study.results import Claim, GeneralistComparison, StudyResults

__all__ = ["MORE_SEEDS_ROWS", "differences_table", "generalist_table", "headline_table"]

SAT, LOW, DELAY = "mean_min_throughput_satisfaction", "share_below_0.95", "mean_max_slice_delay_ms"
LEVEL_ROWS = ((SAT, "satisfaction", 1.0, "{:.3f}"), (LOW, "steps below 0.95 (%)", 100.0, "{:.1f}"),
              (DELAY, "mean max-slice delay (ms)", 1.0, "{:.2f}"))
SHOWN = ("baseline", "drl", "tl", "maxmin")
#: Short names of the claims (by the start of their text) and of their links.
CLAIM_LABELS = (("After convergence TL > DRL", "satisfaction: TL > DRL > baseline"),
                ("TL < DRL < baseline on the share", "steps below 0.95: TL < DRL < baseline"),
                ("TL < DRL < baseline on mean max-slice delay", "mean delay: TL < DRL < baseline"),
                ("TL starts far higher", "TL starts higher than scratch after its exploration"),
                ("DRL from scratch in a new cell", "new-cell DRL ≥ 0.8 × baseline (every seed, target)"),
                ("TL gains over DRL at equal", "TL over scratch at equal training steps, share of converged DRL"),
                ("TL needs fewer steps than DRL from scratch to reach 90", "steps to 90 % of converged DRL: scratch / TL"),
                ("TL needs fewer steps than DRL from scratch to reach 95", "steps to 95 % of converged DRL: scratch / TL"),
                ("The source eq. 10 picks", "eq. 10's source over a random source, early reward"),
                ("The nearest source", "nearest over farthest source, early (paper ≈ +3 %)"),
                ("The VAE distance groups", "VAE distance: across − within requirement groups"))
LINK_LABELS = {"tl - drl": "TL − DRL", "drl - baseline": "DRL − baseline"}
#: The differences docs/results.md quotes for the runs on more seeds.
MORE_SEEDS_ROWS = tuple(f"{m}: {pair}" for m in (SAT, LOW, DELAY) for pair in ("tl - drl", "drl - baseline")) + (
    "early reward: nearest over farthest source (relative)",
    "early reward at equal training steps: TL - scratch (relative)")


def _claim_label(claim: Claim) -> str:
    return next((label for start, label in CLAIM_LABELS if claim.claim.startswith(start)), claim.claim)


def _signed(x: float) -> str:
    return f"{x:+.3g}".replace("-", "−")


def _link(name: str, study: StudyResults, several: bool) -> str:
    d = study.differences[name]
    if name in STEPS.values():  # a log ratio: show the ratio
        return f"×{math.exp(d.mean):.3g} [×{math.exp(d.lo):.3g}, ×{math.exp(d.hi):.3g}]"
    label = next((v for k, v in LINK_LABELS.items() if name.endswith(k)), "") if several else ""
    return f"{label} {_signed(d.mean)} [{_signed(d.lo)}, {_signed(d.hi)}]".strip()


def _paper(claim: Claim) -> str:
    effects = [claim.paper_effect[n] for n in claim.evidence if claim.paper_effect and n in claim.paper_effect]
    return ", ".join(_signed(e) for e in effects) or "—"


def headline_table(study: StudyResults) -> str:
    """Markdown: per method the satisfaction, share of steps below 0.95 and mean delay; per claim
    the paper's effect, ours (mean and 95 % interval of each link) and the verdict."""
    if set(SHOWN) - set(METHODS):
        raise ValueError(f"headline_table shows {SHOWN}, not all in METHODS {METHODS}")
    lines = [f"| {study.seeds} seeds × {len(study.targets)} targets | paper | ours | verdict |", "|---|---|---|---|"]
    for metric, label, scale, fmt in LEVEL_ROWS:
        paper = " / ".join(fmt.format(scale * PAPER[metric][m]) if m in PAPER[metric] else "—" for m in SHOWN)
        ours = " / ".join(fmt.format(scale * study.summary(metric, m).mean) for m in SHOWN)
        lines.append(f"| {label}: baseline / DRL / TL / max-min | {paper} | {ours} | |")
    for claim in study.claims:
        ours = "; ".join(_link(n, study, len(claim.evidence) > 1) for n in claim.evidence) or "—"
        margin = f" (± {claim.margin:.3g})" if claim.margin is not None and claim.verdict == "equivalent" else ""
        lines.append(f"| {_claim_label(claim)} | {_paper(claim)} | {ours} | **{claim.verdict}**{margin} |")
    return "\n".join(lines)


def differences_table(runs: dict[str, StudyResults], names: tuple[str, ...]) -> str:
    """Markdown: the paired differences ``names`` (rows) of several studies (columns: ``runs``' keys),
    each as mean [95 % interval] with the verdict its claim gives it (— where no claim rests on it)."""
    verdicts = {run: {n: v for c in study.claims for n, v in (c.link_verdicts or {}).items()}
                for run, study in runs.items()}
    lines = ["| difference | " + " | ".join(f"{run} ({study.seeds} seeds × {len(study.targets)} targets)"
                                           for run, study in runs.items()) + " |",
             "|---|" + "---|" * len(runs)]
    for name in names:
        cells = []
        for run, study in runs.items():
            d = study.differences.get(name)
            cells.append("—" if d is None else
                         f"{_signed(d.mean)} [{_signed(d.lo)}, {_signed(d.hi)}] {verdicts[run].get(name, '')}".strip())
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def generalist_table(runs: dict[str, GeneralistComparison]) -> str:
    """Markdown: the generalist comparison of several studies (columns: ``runs``' keys): per policy
    the early and evaluation reward and how much of the traffic-aware baseline's worst-slice
    violation it cuts, then per claim its difference (mean [95 % interval]) and verdict."""
    lines = ["| | " + " | ".join(runs) + " |", "|---|" + "---|" * len(runs)]
    for m in COMPARED:
        cells = []
        for g in runs.values():
            red = g.violation_reduction.get(m)
            cut = "" if red is None else (f"; worst-slice violation cut {100 * red.mean:.1f} % "
                                          f"[{100 * red.lo:.1f}, {100 * red.hi:.1f}]")
            cells.append(f"early {g.methods[m]['early_reward'].mean:.3f}, eval {g.methods[m]['eval_reward'].mean:.3f}{cut}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    claims = next(iter(runs.values())).claims
    for i, claim in enumerate(claims):
        cells = []
        for g in runs.values():
            c = g.claims[i]
            name = c.evidence[0]
            d = g.differences.get(name) or g.violation_reduction[name.removeprefix(REDUCTION)]
            cells.append(f"{_signed(d.mean)} [{_signed(d.lo)}, {_signed(d.hi)}] **{c.verdict}**")
        lines.append(f"| {claim.claim} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
