"""Typed ``results.json``: the study's results (:class:`StudyResults`), one seed's (:class:`SeedResult`),
what one seed found for one target cell (:class:`TargetResult`), a policy's evaluation window
(:class:`WindowStats`), a mean over seeds (:class:`Summary`), a paired difference's interval
(:class:`Interval`) and a claim's verdict (:class:`Claim`).

The aggregation builds them and serialises them with ``to_dict``; readers rebuild them with
``from_dict`` (unknown keys are an error). Field names are the JSON keys, except where a key is not
a Python name (``share_below_0.95`` is :attr:`WindowStats.share_below_095`); optional values that are
absent (``None``) are left out of the JSON, as runs of earlier versions wrote them.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

from pyslice.study.methods import METHODS

__all__ = ["Claim", "GeneralistComparison", "Interval", "SeedResult", "StudyResults", "Summary", "TargetResult", "WindowStats",
           "TableEntry"]

_NAN = float("nan")
T = TypeVar("T")


def _key(f: dataclasses.Field) -> str:  # type: ignore[type-arg]
    return str(f.metadata.get("key", f.name))


def _json(value: Any) -> Any:
    """The JSON form of a result object: dataclasses by their keys (``None`` fields left out),
    containers element by element."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_key(f): _json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def _from_json(cls: type[T], d: Mapping[str, Any], **parsed: Any) -> T:
    """``cls`` from its JSON form; ``parsed`` holds fields already converted from theirs."""
    names = {_key(f): f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {unknown}; allowed: {sorted(names)}")
    kwargs = {names[k]: v for k, v in d.items()}
    kwargs.update(parsed)
    return cls(**kwargs)


@dataclass(frozen=True)
class WindowStats:
    """A policy's statistics on the evaluation window (:func:`pyslice.sim.satisfaction.kpi_summary`)."""

    mean_min_throughput_satisfaction: float
    share_below_095: float = field(metadata={"key": "share_below_0.95"})
    """Share of (step) samples whose min-slice throughput satisfaction is below 0.95."""
    mean_max_slice_delay_ms: float
    median_max_slice_delay_ms: float
    p95_max_slice_delay_ms: float
    drop_rate_per_slice: list[float] | None = None
    mean_drop_rate: float | None = None
    """Dropped share of the offered traffic (both absent in runs of versions without drops)."""

    def get(self, metric: str) -> float:
        """A scalar statistic by its JSON key (:data:`pyslice.study.methods.WINDOW_METRICS`); NaN
        when this window lacks it."""
        for f in dataclasses.fields(self):
            if _key(f) == metric:
                value = getattr(self, f.name)
                return _NAN if value is None else value
        raise KeyError(f"unknown window metric {metric!r}")

    def items(self) -> Iterator[tuple[str, Any]]:
        """(JSON key, value) of every statistic this window has."""
        return iter(_json(self).items())

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WindowStats:
        return _from_json(cls, d)


@dataclass(frozen=True)
class Summary:
    """A value's mean ± standard deviation over seeds (seeds where it is finite: ``n``)."""

    mean: float
    std: float
    n: int
    min: float | None = None
    """The smallest value over every (seed, target), where the table reports it."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Summary:
        return _from_json(cls, d)


@dataclass(frozen=True)
class Interval:
    """The mean of a paired difference over (seed, target) and its 95 % interval
    (:func:`pyslice.base.statistics.seed_mean_interval`)."""

    mean: float
    """Mean of the per-seed means."""
    lo: float
    hi: float
    """The 95 % t-interval on the per-seed means (NaN with one seed)."""
    se: float
    """Standard error of the mean over seeds."""
    df: int
    """Degrees of freedom: seeds − 1."""
    n_seeds: int
    n: int
    """(seed, target) pairs with a finite value."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Interval:
        return _from_json(cls, d)


@dataclass(frozen=True)
class Claim:
    """One of the paper's claims, its verdict and the differences (:class:`Interval`) it rests on."""

    claim: str
    verdict: str
    """One of :data:`pyslice.base.statistics.VERDICTS`."""
    holds: bool
    evidence: list[str]
    """The differences (keys of :attr:`StudyResults.differences`) it rests on: a chain's links."""
    direction: str | None = None
    """``greater`` or ``less``: the sign the claim gives the differences."""
    margin: float | None = None
    """Equivalence margin of the differences (TOST); None: no equivalence verdict."""
    link_verdicts: dict[str, str] = field(default_factory=dict)
    """Per difference: its own verdict."""
    paper_effect: dict[str, float] = field(default_factory=dict)
    """Per difference: the paper's effect size, where the paper gives one."""
    paper_effect_excluded: dict[str, bool] = field(default_factory=dict)
    """Per difference: the 95 % interval excludes the paper's effect size."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Claim:
        return _from_json(cls, d)


@dataclass(frozen=True)
class GeneralistComparison:
    """The generalist (TL-DIRP) against integrated TL on the same traffic
    (:mod:`pyslice.study.generalist_study`)."""

    methods: dict[str, dict[str, Summary]]
    """Per policy and metric: mean ± std over seeds of the per-seed means over targets."""
    differences: dict[str, Interval]
    """The paired differences per (seed, target) the claims rest on."""
    violation_reduction: dict[str, Interval]
    """Per policy: 1 − its worst-slice violation / the traffic-aware baseline's, per seed."""
    claims: list[Claim]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GeneralistComparison:
        return _from_json(
            cls, d, methods={m: {k: Summary.from_dict(v) for k, v in by.items()} for m, by in d["methods"].items()},
            differences={k: Interval.from_dict(v) for k, v in d["differences"].items()},
            violation_reduction={k: Interval.from_dict(v) for k, v in d["violation_reduction"].items()},
            claims=[Claim.from_dict(c) for c in d["claims"]])


@dataclass(frozen=True)
class TargetResult:
    """One seed's results for one target cell."""

    sources: list[int]
    """The sources TL ran from (cells, 0-based)."""
    distance: list[float]
    """The source-selection distance D[source, target] of each."""
    early_reward_nearest: float
    early_reward_farthest: float
    early_reward_scratch: float
    """Mean target reward over the first ``early_window`` steps: TL from the nearest and the farthest
    source, and DRL from scratch."""
    nearest_vs_farthest_early_gain: float
    tl_gain_over_drl: float
    """TL over DRL from scratch over the TL steps (scratch's exploration included), relative."""
    tl_early_gain_over_drl: float
    tl_gain_equal_training_steps: float
    """TL's first training steps against scratch's steps after its exploration, relative."""
    tl_early_gain_equal_training_steps: float
    eval: dict[str, WindowStats]
    """Per method of :data:`pyslice.study.methods.METHODS`: the evaluation window's statistics."""
    measures: dict[str, dict[str, float]]
    """Per similarity measure (swept targets only): Spearman(distance, early gain), regret, its pick."""
    strategies: dict[str, dict[str, float]]
    """Per transfer strategy: early and evaluation reward."""
    swept: bool
    """Every other cell was a source for at least the early window (the measure ablation applies)."""
    early_reward_by_source: dict[int, float] | None = None
    """Per source cell: mean target reward over the early window of TL from it (complete targets)."""
    source_choice: dict[str, dict[str, float]] | None = None
    """Per similarity measure: its pick, the pick's early reward over a random pick's and short of the
    best source's (:func:`pyslice.study.source_choice.source_choice`)."""
    steps_to_reach: dict[str, dict[str, float]] | None = None
    """``tl``/``scratch`` → level of converged DRL's reward (``"0.9"``, ``"0.95"``) → steps needed;
    NaN: not within the run (:func:`pyslice.study.efficiency.steps_to_reach`). Absent without the
    long scratch runs."""
    horizon: dict[str, int] | None = None
    """``tl``/``scratch`` → the learner run's steps (where a NaN of ``steps_to_reach`` is censored)."""
    tl_gain_normalised: float | None = None
    """TL over scratch at equal training steps, each relative to converged DRL on its own steps,
    over TL's whole run (:func:`pyslice.study.efficiency.normalised_gain`)."""
    tl_early_gain_normalised: float | None = None
    """The same over the first ``early_window`` training steps."""

    def __post_init__(self) -> None:
        if set(self.eval) != set(METHODS):
            raise ValueError(f"eval must hold one window per method {METHODS}, got {sorted(self.eval)}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``per_seed[i].targets[k]``)."""
        return _json(self)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TargetResult:
        """Rebuilt from its JSON form (unknown keys are an error)."""
        by_source = d.get("early_reward_by_source")
        return _from_json(cls, d, eval={p: WindowStats.from_dict(w) for p, w in d.get("eval", {}).items()},
                          early_reward_by_source=None if by_source is None else
                          {int(k): v for k, v in by_source.items()})


@dataclass(frozen=True)
class SeedResult:
    """One seed's study: the source-selection distance's group separation and every target."""

    seed: int
    within_group_distance: float
    across_group_distance: float
    pick_accuracy_all_cells: dict[str, float]
    """Per similarity measure: how often eq. 10's pick for every cell is in its requirement group."""
    targets: dict[int, TargetResult]
    posterior_variance: dict[str, float] | None = None
    """The VAE posterior variance's statistics (Lemma 1's premise; absent in runs before it was kept)."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SeedResult:
        return _from_json(cls, d, targets={int(k): TargetResult.from_dict(t) for k, t in d.get("targets", {}).items()})


#: An entry of :attr:`StudyResults.table`: one summary, one per method, or a per-slice list per method.
TableEntry = Union[Summary, dict[str, Summary], dict[str, list[float]]]


def _table_entry(d: Mapping[str, Any]) -> TableEntry:
    if "mean" in d:
        return Summary.from_dict(d)
    if all(isinstance(v, list) for v in d.values()):
        return {k: [float(x) for x in v] for k, v in d.items()}
    return {k: Summary.from_dict(v) for k, v in d.items()}


@dataclass
class StudyResults:
    """The whole study (``results.json``)."""

    paper: dict[str, Any]
    """The paper's numbers the table is set beside."""
    table: dict[str, TableEntry]
    """Per metric: per method (or a single statistic), mean ± std over seeds."""
    claims: list[Claim]
    """The paper's claims with their verdicts and the differences they rest on."""
    differences: dict[str, Interval]
    """Paired differences per (seed, target): mean and 95 % interval."""
    per_cell: dict[int, dict[str, WindowStats]]
    """Per target cell and method: the window statistics, mean over seeds."""
    ablation_measures: dict[str, dict[str, Summary]]
    ablation_strategies: dict[str, dict[str, Summary]]
    targets: list[int]
    seeds: int
    per_seed: list[SeedResult]
    source_choice: dict[str, dict[str, Interval]] = field(default_factory=dict)
    """Per similarity measure: its pick's early reward over a random pick and short of the best
    source (``gain_over_random``, ``shortfall_from_best``), per (seed, target) with every source."""
    sample_efficiency: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per level of converged DRL's reward: the share of TL and scratch runs reaching it, their median
    steps and the pairs (:func:`pyslice.study.efficiency.sample_efficiency_summary`)."""
    generalist: GeneralistComparison | None = None
    """The authors' generalist against integrated TL (a study run with ``generalist = true``)."""
    wall_seconds: float | None = None
    peak_memory: dict[str, float] = field(default_factory=dict)
    """The run's peak memory on the driver's machine (:class:`pyslice.base.memory.PeakMemory`):
    ``all_processes_mb`` (PSS of the driver and its worker processes) and ``largest_process_mb``."""
    phase_seconds: dict[str, float] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)
    """Figure name -> path relative to the study directory."""
    build: dict[str, Any] = field(default_factory=dict)
    """:func:`pyslice.build_info` of the process that summarised the run (version, portable or native
    build, compiler, the SIMD level that ran): builds round floating point differently, so a rerun on
    another build reproduces the verdicts, not every bit. Empty in results made before it was kept."""

    def summary(self, metric: str, method: str | None = None) -> Summary:
        """``table[metric]`` (or ``table[metric][method]``) as a :class:`Summary`."""
        entry = self.table[metric]
        value = entry if method is None else entry[method]  # type: ignore[index]
        if not isinstance(value, Summary):
            raise TypeError(f"table[{metric!r}] is not a summary{'' if method is None else ' per method'}")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``results.json``; ``wall_seconds`` is written as null when unknown)."""
        d: dict[str, Any] = _json(self)
        d.setdefault("wall_seconds", None)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StudyResults:
        """Rebuilt from its JSON form (unknown keys are an error)."""
        return _from_json(
            cls, d,
            table={k: _table_entry(v) for k, v in d.get("table", {}).items()},
            claims=[Claim.from_dict(c) for c in d.get("claims", [])],
            differences={k: Interval.from_dict(v) for k, v in d.get("differences", {}).items()},
            per_cell={int(k): {p: WindowStats.from_dict(w) for p, w in by.items()}
                      for k, by in d.get("per_cell", {}).items()},
            ablation_measures={k: {m: Summary.from_dict(s) for m, s in v.items()}
                               for k, v in d.get("ablation_measures", {}).items()},
            ablation_strategies={k: {m: Summary.from_dict(s) for m, s in v.items()}
                                 for k, v in d.get("ablation_strategies", {}).items()},
            per_seed=[SeedResult.from_dict(r) for r in d.get("per_seed", [])],
            source_choice={m: {k: Interval.from_dict(v) for k, v in by.items()}
                           for m, by in d.get("source_choice", {}).items()},
            generalist=GeneralistComparison.from_dict(d["generalist"]) if d.get("generalist") else None)

