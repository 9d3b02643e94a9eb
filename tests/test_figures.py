"""Paper figures: the moving average is exact and every figure is written as a PNG."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import figures


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=60), st.integers(1, 12))
def test_smooth_is_trailing_mean(values, window):
    y = np.array(values)
    got = figures.smooth(y, window)
    want = np.array([y[max(0, i - window + 1): i + 1].mean() for i in range(len(y))])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_all_figures_are_written(tmp_path):
    rng = np.random.default_rng(0)
    paths = [
        figures.traffic_mask(rng.random((250, 4)), ["a", "b", "c", "d"], tmp_path / "f3.png"),
        figures.reward_curves({"DRL": rng.random((3, 300)), "TL": rng.random((3, 200))}, tmp_path / "f4.png",
                              solid_until={"DRL": 200}),
        figures.ccdf({"x": rng.random(100), "y": rng.random(50)}, tmp_path / "f5.png", "satisfaction", "t"),
        figures.cdf({"x": rng.random(100) + 0.1}, tmp_path / "f6.png", "delay (ms)", "t"),
        figures.gain_vs_distance(rng.normal(size=(4, 100)), np.array([3.0, 1.0, 2.0, 5.0]), tmp_path / "f8.png"),
    ]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000


def test_reward_panels_plot_the_seed_mean_of_every_cell(tmp_path, monkeypatch):
    captured = {}
    monkeypatch.setattr(figures, "_save", lambda fig, path: captured.setdefault("fig", fig))
    rng = np.random.default_rng(1)
    panels = [{"base": rng.random((2, 30)), "drl": rng.random((2, 30))} for _ in range(5)]
    figures.reward_panels(panels, [f"cell {k + 1}" for k in range(5)], tmp_path / "p.png", window=1, columns=2)
    axes = [ax for ax in captured["fig"].axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == [f"cell {k + 1}" for k in range(5)]
    for ax, curves in zip(axes, panels):
        for line, y in zip(ax.get_lines(), curves.values()):
            np.testing.assert_allclose(line.get_ydata(), y.mean(axis=0))
    with pytest.raises(ValueError, match="title"):
        figures.reward_panels(panels, ["only one"], tmp_path / "q.png")
