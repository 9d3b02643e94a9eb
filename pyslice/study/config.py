"""What ``pyslice reproduce`` runs: its configuration (:class:`ReproduceConfig`), the phases of a seed,
the target cells and requirement groups of a scenario, and the settings document the study writes
beside its results (``config.toml``, read back by ``--config``)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pyslice.base.toml_writer import NONE, plain, toml_text
from pyslice.envs.relabel import INSTANCE_REWARDS
from pyslice.learn.train import TrainConfig
from pyslice.learn.vae import VAEConfig
from pyslice.sim.core_config import site_positions
from pyslice.sim.scenario import SECTORS_PER_SITE, Scenario
from pyslice.study.similarity import MEASURES

ABLATION_STRATEGIES = ("model", "feature", "instance")
PHASES = ("pretrain", "baseline", "similarity", "generalist", "transfer", "evaluate")


@dataclass(frozen=True)
class ReproduceConfig:
    """What ``pyslice reproduce`` runs (defaults: the paper's schedule, 3 seeds)."""

    seeds: int = 5
    train: TrainConfig = field(default_factory=TrainConfig)
    tl_steps: int = 4000
    """TL training steps (paper: 4000) before ``train.evaluation_steps`` greedy steps."""
    samples_per_agent: int = 500
    """Samples under the default action per source cell for the similarity analysis."""
    target_samples: int | None = 100
    """Samples under the default action of each target cell (paper §IV-B: the target is newly
    deployed, with "very limited" samples; the sources contribute a subset of theirs). The target
    cells keep the first ``target_samples`` of their samples in the VAE's training set and in every
    distance; ``None``: as many as the sources (the earlier analysis). One VAE per seed
    serves all targets (the other targets are sources with few samples)."""
    similarity_observation: str = "log"
    """How the state s in the VAE's samples x = [s, r] is normalised (``pyslice.envs.slicing`` modes). The
    paper's s is [φ, l, u, c] without a clip; the agents' clipped state (``train.observation``) hides
    the requirement groups: a logistic regression on the raw samples tells the groups apart with
    71 % held-out accuracy on the clipped state and 97 % on the log state
    (``bench/group_classifier.py``)."""
    vae: VAEConfig = field(default_factory=VAEConfig)
    targets: tuple[int, ...] | str | None = "auto"
    """Target cells (0-based): ``"auto"`` (default: every cell of a network of up to
    :data:`AUTO_TARGETS` cells, as the paper's §V-3 compares "among all cells"; in a larger one
    :data:`AUTO_TARGETS` cells spread over the requirement groups and over interior and edge sites,
    :func:`spread_targets`), ``"all"`` (every cell), ``None`` (the first cell of each requirement
    profile) or a tuple. Each gets integrated TL from its nearest and farthest source and DRL from scratch."""
    sweep_targets: tuple[int, ...] | None = None
    """Targets (among ``targets``) that also get TL from every source (Fig. 8, the measure
    ablation) and the strategy ablation; default: the first cell of each requirement profile."""
    sweep_sources: int | None = 11
    """Sources a sweep target runs TL from for the whole ``tl_steps`` (Fig. 8's gain against
    distance): at most this many, spread evenly over the target's distance ranking (the nearest
    and the farthest always among them); the others run over the early window with ``all_sources``.
    The default, 11, is every source of the paper's 12 cells; on 57 cells it keeps the sweep's cost
    linear in the cells instead of quadratic. ``None``: every source."""
    early_window: int = 200
    """Steps over which the early TL gain is measured (paper: 200)."""
    ablations: bool = True
    """Run the strategy ablation (model, feature, instance from the nearest source)."""
    sample_efficiency: bool = True
    """Also run DRL from scratch in every target for the whole pretraining schedule
    (``train.exploration_steps + train.training_steps``), and converged DRL on the same traffic, so
    that the steps TL and scratch need to reach a share of converged DRL's reward can be compared."""
    all_sources: bool = True
    """Also run TL from every source of every target for the first ``early_window`` steps (the sweep
    targets run every source anyway), so that a measure's pick can be judged against a random pick
    and the best source."""
    source_measure: str = "vae-kl-equal-sigma"
    """The distance that picks each target's sources (eq. 10): the paper's eqs. 7 + 9
    (``pyslice.study.similarity.HEADLINE_MEASURE``); any of ``pyslice.study.similarity.MEASURES`` as an ablation."""
    instance_rewards: str = "source"
    """Rewards of the transferred instances: ``"source"`` (the paper: as the source stored them,
    under its own requirements) or ``"target"`` (relabelled under the target's, :mod:`pyslice.envs.relabel`)."""
    tl_exploration_noise: float | None = None
    """Exploration noise of the new cell's TL learners, in the units of ``train.td3.exploration``;
    ``None`` (default): the pretraining's ``train.td3.exploration_noise`` (paper §V-2: "for TL
    training process, we apply the same model setups as DRL approaches"). DRL from scratch always
    uses the pretraining learner unchanged."""
    generalist: bool = False
    """Also compare with the authors' generalist (TL-DIRP, :mod:`pyslice.learn.generalist`): per seed one
    shared network per fold of targets, trained on the pretraining's schedule and seed in every
    other cell (the fold's targets act but are never learned from), then in each target as it is
    (zero-shot) and fine-tuned for ``tl_steps``, beside TL from a random source."""
    generalist_folds: int | None = None
    """Generalists per seed: ``None`` (default) one per target, each kept from that target alone
    (leave-one-out: it learns from every source cell); an int F splits the targets into F folds,
    each generalist kept from one fold (cheaper, fewer training cells)."""
    generalist_buffer: int = 100_000
    """Transitions each generalist's replay buffer keeps, pooled over its training cells (ten cells'
    worth of the pretraining's per-agent buffer)."""
    figures: bool = True
    """Draw the paper's figures into ``figures/`` (off: faster aggregation, e.g. for the points of a
    large sweep; the numbers are the same)."""

    @classmethod
    def quick(cls) -> ReproduceConfig:
        """A short schedule, one seed, three targets (two swept), small sweeps (the CI smoke run;
        under 2 minutes)."""
        return cls(seeds=1, train=TrainConfig(exploration_steps=150, training_steps=250, evaluation_steps=50,
                                              checkpoint_every=100),
                   tl_steps=250, samples_per_agent=60, target_samples=30, vae=VAEConfig(epochs=30), early_window=50,
                   targets=(0, 3, 5))

    def __post_init__(self) -> None:
        if self.target_samples is not None and (isinstance(self.target_samples, bool)
                                                or not isinstance(self.target_samples, int)
                                                or not 2 <= self.target_samples <= self.samples_per_agent):
            raise ValueError(f"target_samples must be None or an int in [2, samples_per_agent = "
                             f"{self.samples_per_agent}], got {self.target_samples!r}")
        if isinstance(self.targets, str) and self.targets not in ("all", "auto"):
            raise ValueError(f"targets must be 'auto', 'all', None or distinct cell indices >= 0, got {self.targets!r}")
        for name in ("targets", "sweep_targets"):
            if getattr(self, name) is None or getattr(self, name) in ("all", "auto"):
                continue
            t = tuple(getattr(self, name))
            if ((not t and name == "targets") or len(set(t)) != len(t)  # no sweep target: nearest and farthest only
                    or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0 for k in t)):
                raise ValueError(f"{name} must be None or distinct cell indices >= 0, got {getattr(self, name)!r}")
        if self.sweep_sources is not None and (isinstance(self.sweep_sources, bool)
                                               or not isinstance(self.sweep_sources, int) or self.sweep_sources < 2):
            raise ValueError(f"sweep_sources must be None or an int >= 2, got {self.sweep_sources!r}")
        if not isinstance(self.generalist, bool):
            raise ValueError(f"generalist must be true or false, got {self.generalist!r}")
        if self.generalist_folds is not None and (isinstance(self.generalist_folds, bool)
                                                  or not isinstance(self.generalist_folds, int)
                                                  or self.generalist_folds < 1):
            raise ValueError(f"generalist_folds must be None or an int >= 1, got {self.generalist_folds!r}")
        if isinstance(self.generalist_buffer, bool) or not isinstance(self.generalist_buffer, int) \
                or self.generalist_buffer < 1:
            raise ValueError(f"generalist_buffer must be an int >= 1, got {self.generalist_buffer!r}")
        if not isinstance(self.figures, bool):
            raise ValueError(f"figures must be true or false, got {self.figures!r}")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise ValueError(f"seeds must be an int >= 1, got {self.seeds!r}")
        if self.source_measure not in MEASURES:
            raise ValueError(f"source_measure must be one of {', '.join(map(repr, MEASURES))}, "
                             f"got {self.source_measure!r}")
        if self.instance_rewards not in INSTANCE_REWARDS:
            raise ValueError(f"instance_rewards must be one of {', '.join(map(repr, INSTANCE_REWARDS))}, "
                             f"got {self.instance_rewards!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scratch_steps(cfg: ReproduceConfig) -> int:
    """Steps of the long DRL-from-scratch runs (the pretraining schedule); 0 without them."""
    return cfg.train.exploration_steps + cfg.train.training_steps if cfg.sample_efficiency else 0


def evaluation_horizon(cfg: ReproduceConfig) -> int:
    """Steps of the evaluate phase: as long as the longest learner run on the TL seed's traffic."""
    return max(cfg.tl_steps, scratch_steps(cfg)) + cfg.train.evaluation_steps


def default_targets(scenario: Scenario) -> tuple[int, ...]:
    """The first cell of each requirement profile (paper: cells 1 and 4, 0-based 0 and 3)."""
    n_sites = scenario.layout.n_sites
    req = scenario.requirements
    seen: dict[int, int] = {}
    for site in range(n_sites):
        seen.setdefault(req.site_profile[site % len(req.site_profile)], SECTORS_PER_SITE * site)
    return tuple(seen.values())


#: Targets of ``targets="auto"`` in a network of more cells.
AUTO_TARGETS = 12


def _alternate(a: list[int], b: list[int]) -> list[int]:
    """The items of ``a`` and ``b`` in turn (a0, b0, a1, b1, ..., then the rest of the longer)."""
    return [x for i in range(max(len(a), len(b))) for x in (a[i:i + 1] + b[i:i + 1])]


def _spread_order(size: int) -> list[int]:
    """0..size-1 in an order whose every prefix is spread evenly (van der Corput: 0, 1/2, 1/4, 3/4, ...)."""
    order: list[int] = []
    j = 0
    while len(order) < size:
        x, f, k = 0.0, 0.5, j
        while k:
            x, k, f = x + f * (k & 1), k >> 1, f / 2
        i = int(x * size)
        while i in order:
            i = (i + 1) % size
        order.append(i)
        j += 1
    return order


def spread_targets(scenario: Scenario, n: int = AUTO_TARGETS) -> tuple[int, ...]:
    """``n`` target cells spread over the requirement groups and over edge and interior sites (every
    cell if the network has at most ``n``): the sites fall into groups by requirement profile and
    into interior and edge sites, an edge site being one without its full first tier of six
    neighbour sites (with wrap-around every site is interior); the groups are taken in turn, each
    giving a cell of its next site (interior and edge in turn, spread over each, sectors in turn),
    until ``n`` are chosen. Sorted."""
    K = scenario.n_cells
    if K <= n:
        return tuple(range(K))
    sites = site_positions(scenario)
    apart = np.hypot(*(sites[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    first_tier = ((apart > 0) & (apart < 1.1 * scenario.layout.isd_m)).sum(axis=1)
    edge = (first_tier < 6) & (not scenario.layout.wrap_around)  # a site without its full first tier
    profile = scenario.requirements.site_profile
    by_group: dict[int, tuple[list[int], list[int]]] = {}  # profile -> (interior sites, edge sites)
    for site in range(len(sites)):
        by_group.setdefault(profile[site % len(profile)], ([], []))[int(edge[site])].append(site)
    chosen: set[int] = set()
    while len(chosen) < n:  # one pass over the sites per round; a later round takes other sectors
        queues = [_alternate(*([v[i] for i in _spread_order(len(v))] for v in pair))
                  for _, pair in sorted(by_group.items())]
        while any(queues) and len(chosen) < n:
            for queue in queues:  # the groups in turn; within a group interior and edge sites in turn
                if queue and len(chosen) < n:
                    site = queue.pop(0)
                    free = [c for c in range(SECTORS_PER_SITE * site, SECTORS_PER_SITE * (site + 1)) if c not in chosen]
                    if free:  # sectors in turn, so the targets face every direction
                        chosen.add(free[len(chosen) % len(free)])
    return tuple(sorted(chosen))


def study_targets(scenario: Scenario, cfg: ReproduceConfig) -> tuple[int, ...]:
    """The target cells of a study: ``"auto"`` :func:`spread_targets`, ``"all"`` every cell, ``None``
    the first cell of each requirement profile, else the given cells."""
    if cfg.targets == "all":
        return tuple(range(scenario.n_cells))
    if cfg.targets == "auto":
        return spread_targets(scenario)
    return default_targets(scenario) if cfg.targets is None else tuple(cfg.targets)


def generalist_folds(scenario: Scenario, cfg: ReproduceConfig) -> list[list[int]]:
    """The targets each generalist of a seed is kept from (:attr:`ReproduceConfig.generalist_folds`):
    one target each, or the targets dealt round-robin into at most F folds."""
    targets = study_targets(scenario, cfg)
    if cfg.generalist_folds is None:
        return [[k] for k in targets]
    F = min(cfg.generalist_folds, len(targets))
    return [list(targets[f::F]) for f in range(F)]


def cell_groups(scenario: Scenario) -> list[list[int]]:
    """Cells grouped by requirement profile."""
    req = scenario.requirements
    groups: dict[int, list[int]] = {}
    for site in range(scenario.layout.n_sites):
        groups.setdefault(req.site_profile[site % len(req.site_profile)], []).extend(range(SECTORS_PER_SITE * site, SECTORS_PER_SITE * (site + 1)))
    return list(groups.values())


def sweep_targets_of(scenario: Scenario, cfg: ReproduceConfig) -> tuple[int, ...]:
    """Targets that get the all-sources sweep and the strategy ablation."""
    targets = study_targets(scenario, cfg)
    wanted = cfg.sweep_targets if cfg.sweep_targets is not None else default_targets(scenario)
    return tuple(k for k in targets if k in wanted)


def config_from_dict(d: dict[str, Any]) -> ReproduceConfig:
    d = dict(d)
    train = TrainConfig.from_dict(d.pop("train"))
    vae = d.pop("vae")
    vae = VAEConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in vae.items()})
    targets = d.pop("targets")
    sweep = d.pop("sweep_targets", None)
    d["sweep_targets"] = None if sweep is None else tuple(sweep)
    d.setdefault("target_samples", None)  # runs of an earlier version: targets kept every sample
    d.setdefault("instance_rewards", "source")
    d.setdefault("source_measure", "vae-kl-equal-sigma")
    d.setdefault("figures", True)
    d.setdefault("sample_efficiency", False)  # runs of an earlier version ran neither
    d.setdefault("all_sources", False)
    return ReproduceConfig(train=train, vae=vae,
                           targets=targets if targets is None or isinstance(targets, str) else tuple(targets), **d)


def settings_document(scenario: Scenario, cfg: ReproduceConfig) -> dict[str, Any]:
    """The study's settings as one document: ``scenario``, ``train`` (with ``td3``) and ``reproduce``
    (with ``vae``), the tables ``--set`` and ``--config`` address (:mod:`pyslice.settings`)."""
    rep = {k: v for k, v in cfg.to_dict().items() if k != "train"}
    return {"scenario": scenario.to_dict(), "train": cfg.train.to_dict(), "reproduce": rep}


def config_toml(scenario: Scenario, cfg: ReproduceConfig) -> str:
    """``config.toml`` of a study: its settings document as TOML (unset values written as ``none``)."""
    return toml_text(plain(settings_document(scenario, cfg), NONE))
