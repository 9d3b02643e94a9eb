"""What a similarity measure's choice of source buys (eq. 10): for a target with TL from every
source over the first window, the early reward of the measure's pick against a random pick (the mean
over the sources: a random pick's expectation) and against the best source."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["source_choice"]


def source_choice(early_by_source: Mapping[int, float], distances: Mapping[str, np.ndarray],
                  target: int) -> dict[str, dict[str, float]]:
    """Per measure (``distances``: name → D[source, target]): ``picked_source`` (argmin of the
    target's column over the sources, ties to the lower cell), ``gain_over_random`` (its early
    reward − the mean over the sources) and ``shortfall_from_best`` (the best source's − its)."""
    if not early_by_source:
        raise ValueError("early_by_source must hold at least one source")
    sources = sorted(int(i) for i in early_by_source)
    if target in sources:
        raise ValueError(f"target {target} is among the sources")
    reward = np.array([early_by_source[i] for i in sources], dtype=float)
    out = {}
    for name, D in distances.items():
        d = np.asarray(D, dtype=float)[sources, target]
        j = int(np.argmin(d))  # first minimum: the lower cell index among ties (sources are sorted)
        out[name] = {"picked_source": float(sources[j]), "gain_over_random": float(reward[j] - reward.mean()),
                     "shortfall_from_best": float(reward.max() - reward[j])}
    return out
