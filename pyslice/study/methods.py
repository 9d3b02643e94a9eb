"""The names a study's results are keyed by, defined once: the policies compared on the evaluation
window (``results.json``'s ``eval``, ``table``, ``per_cell``; ``results.csv``'s ``policy``), the window
metrics each carries, and the per-target TL gains."""
from __future__ import annotations

#: The compared policies: the traffic-aware baseline, the converged pretrained agents, DRL from
#: scratch in the new cell, integrated TL from the nearest source and the max-min reference (the
#: headroom: it knows the previous step's loads and spectral efficiencies); with the report's names.
METHODS: tuple[str, ...] = ("baseline", "drl", "drl_scratch", "tl", "maxmin")
METHOD_NAMES: dict[str, str] = {"baseline": "traffic-aware baseline", "drl": "DRL (converged)",
                                "drl_scratch": "DRL (new cell, same steps as TL)",
                                "tl": "TL (integrated, nearest source)",
                                "maxmin": "max-min reference (knows the loads)"}
#: The scalar statistics of a policy on the evaluation window (pyslice.sim.satisfaction.kpi_summary).
WINDOW_METRICS: tuple[str, ...] = ("mean_min_throughput_satisfaction", "share_below_0.95", "mean_max_slice_delay_ms",
                                   "median_max_slice_delay_ms", "p95_max_slice_delay_ms", "mean_drop_rate")
#: Per-target numbers of the TL run, reported as metrics of policy ``tl``.
GAIN_METRICS: tuple[str, ...] = ("tl_gain_over_drl", "tl_early_gain_over_drl", "tl_gain_equal_training_steps",
                                 "tl_early_gain_equal_training_steps", "nearest_vs_farthest_early_gain",
                                 "early_reward_nearest", "early_reward_farthest", "early_reward_scratch")
