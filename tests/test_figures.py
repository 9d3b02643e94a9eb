"""Paper figures: the moving average is exact, each figure plots the data it is given, and a\nfigure is written as a PNG."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice.study import figures


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=60), st.integers(1, 12))
def test_smooth_is_trailing_mean(values, window):
    y = np.array(values)
    got = figures.smooth(y, window)
    want = np.array([y[max(0, i - window + 1): i + 1].mean() for i in range(len(y))])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.fixture
def drawn(monkeypatch):
    """The figure each plotting function hands to ``_save`` (not written), as ``drawn["fig"]``."""
    captured = {}

    def keep(fig, path):
        captured["fig"] = fig
        return path

    monkeypatch.setattr(figures, "_save", keep)
    return captured


def test_a_figure_is_written_as_png(tmp_path):
    path = figures.cdf({"x": np.linspace(0.1, 3.0, 50)}, tmp_path / "f6.png", "delay (ms)", "t")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    assert list(tmp_path.iterdir()) == [path]  # written atomically: no temp file left


def test_traffic_mask_plots_each_slice_over_the_first_steps(tmp_path, drawn):
    mask = np.random.default_rng(0).random((250, 4))
    figures.traffic_mask(mask, ["a", "b", "c", "d"], tmp_path / "f3.png", steps=120)
    lines = drawn["fig"].axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["a", "b", "c", "d"]
    for n, line in enumerate(lines):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 121))
        np.testing.assert_array_equal(line.get_ydata(), mask[:120, n])


def test_reward_curves_plot_the_smoothed_seed_mean_solid_then_dashed(tmp_path, drawn):
    rng = np.random.default_rng(1)
    drl, tl = rng.random((3, 300)), rng.random((2, 200))
    figures.reward_curves({"DRL": drl, "TL": tl}, tmp_path / "f4.png", window=10, solid_until={"DRL": 200})
    ax = drawn["fig"].axes[0]
    solid, dashed, tl_line = ax.get_lines()
    mean = np.array([drl[:, max(0, i - 9): i + 1].mean() for i in range(300)])  # trailing mean, then seeds
    np.testing.assert_allclose(solid.get_ydata(), mean[:200], rtol=1e-12)
    np.testing.assert_allclose(dashed.get_ydata(), mean[199:], rtol=1e-12)
    assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"
    np.testing.assert_allclose(tl_line.get_ydata(), figures.smooth(tl, 10).mean(axis=0), rtol=1e-12)
    assert len(ax.collections) == 2  # a min-max band per curve with more than one seed


def test_ccdf_and_cdf_are_the_empirical_distributions(tmp_path, drawn):
    x = np.array([0.3, 0.9, 0.1, 0.5])
    figures.ccdf({"x": x}, tmp_path / "f5.png", "satisfaction", "t")
    line = drawn["fig"].axes[0].get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [0.1, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(line.get_ydata(), [0.75, 0.5, 0.25, 0.0])
    figures.cdf({"x": x}, tmp_path / "f6.png", "delay (ms)", "t")
    ax = drawn["fig"].axes[0]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.25, 0.5, 0.75, 1.0])
    assert ax.get_xscale() == "log"


def test_gain_vs_distance_orders_sources_by_distance_in_percent(tmp_path, drawn):
    gains = np.random.default_rng(2).normal(size=(4, 100))
    distances = np.array([3.0, 1.0, 2.0, 5.0])
    figures.gain_vs_distance(gains, distances, tmp_path / "f8.png", window=5)
    lines = drawn["fig"].axes[0].get_lines()[:4]
    assert [line.get_label() for line in lines] == ["D = 1", "D = 2", "D = 3", "D = 5"]
    for line, i in zip(lines, [1, 2, 0, 3]):
        np.testing.assert_allclose(line.get_ydata(), 100 * figures.smooth(gains[i], 5), rtol=1e-12)


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
