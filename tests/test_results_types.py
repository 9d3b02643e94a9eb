"""The typed study results (pyslice.study.results): JSON keys, round trips and clear errors."""
from __future__ import annotations

import json
import math

import pytest

from pyslice.study.methods import METHODS, WINDOW_METRICS
from pyslice.study.results import Claim, Interval, StudyResults, Summary, TargetResult, WindowStats

from helpers import study_results, target_result, window


def test_window_keys_are_the_metric_names():
    w = window(0.9, 3.0)
    d = dict(w.items())
    assert d["share_below_0.95"] == 1.0 and "share_below_095" not in d
    assert "mean_drop_rate" not in d and "drop_rate_per_slice" not in d  # absent, not null
    assert set(d) == set(WINDOW_METRICS) - {"mean_drop_rate"}
    assert [w.get(m) for m in WINDOW_METRICS[:5]] == [0.9, 1.0, 3.0, 3.0, 6.0]
    assert math.isnan(w.get("mean_drop_rate"))
    with pytest.raises(KeyError, match="unknown window metric 'speed'"):
        w.get("speed")
    assert WindowStats.from_dict(d) == w


def test_study_round_trips_through_its_json_text():
    study = study_results(
        {0: {2: target_result([1, 5], [0.3, 0.1]), 7: target_result([1], [0.2])}, 1: {2: target_result([4], [0.6])}},
        table={"mean_min_throughput_satisfaction": {m: Summary(0.9, 0.01, 2) for m in METHODS},
               "scratch_over_baseline": Summary(0.95, 0.02, 2, min=0.9),
               "drop_rate_per_slice": {m: [0.0, 0.1] for m in METHODS}},
        claims=[Claim(claim="x", verdict="holds", holds=True, evidence=["d"])],
        differences={"d": Interval(0.1, 0.05, 0.15, 0.02, 1, 2, 3)},
        per_cell={2: {m: window() for m in METHODS}},
        ablation_measures={"vae": {"regret": Summary(0.1, 0.0, 2)}}, wall_seconds=None)
    text = json.dumps(study.to_dict(), indent=2, sort_keys=True)
    back = StudyResults.from_dict(json.loads(text))
    assert back == study  # the JSON's string cell keys come back as ints
    assert json.dumps(back.to_dict(), indent=2, sort_keys=True) == text
    assert json.loads(text)["wall_seconds"] is None
    assert back.summary("scratch_over_baseline").min == 0.9
    assert back.summary("mean_min_throughput_satisfaction", "tl").mean == 0.9
    with pytest.raises(TypeError, match="not a summary"):
        back.summary("drop_rate_per_slice", "tl")


@pytest.mark.parametrize("cls, d, key", [
    (WindowStats, {**dict(window().items()), "speed": 1.0}, "speed"),
    (Summary, {"mean": 0.0, "std": 0.0, "n": 1, "median": 0.0}, "median"),
    (Claim, {"claim": "c", "verdict": "holds", "holds": True, "evidence": [], "strength": 0.1}, "strength"),
])
def test_unknown_keys_name_the_class_and_the_key(cls, d, key):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: unknown keys \['{key}'\]"):
        cls.from_dict(d)


def test_a_target_needs_every_method_window():
    d = target_result([1], [0.1]).to_dict()
    del d["eval"]["drl"]
    with pytest.raises(ValueError, match="one window per method"):
        TargetResult.from_dict(d)
