"""pyslice.study.compare: a controlled ablation of two studies, paired per (seed, target)."""
from __future__ import annotations


import numpy as np
import pytest
from scipy import stats

from pyslice.cli import main
from pyslice.base.atomic import write_json
from pyslice.study.compare import compare_studies, format_comparison

from helpers import study_results, target_result, window


def _study(shift: float, seeds=(0, 1, 2, 3, 4), targets=(0, 1, 2), noise: float = 0.002):
    rng = np.random.default_rng(abs(int(1000 * shift)) + len(seeds))
    by_seed = {}
    for s in seeds:
        by_seed[s] = {}
        for k in targets:
            base = 0.9 + 0.01 * k + 0.005 * s  # the same world in both studies
            drl = window(base + shift + noise * rng.standard_normal())
            by_seed[s][k] = target_result([1], [0.1], eval={"baseline": window(0.8), "drl": drl,
                                                          "drl_scratch": window(0.85), "tl": window(base),
                                                          "maxmin": window(0.99)})
    return study_results(by_seed)


def _row(rows, name):
    return next(r for r in rows if r.quantity == name)


def test_a_shift_in_the_variant_is_found_with_its_t_interval():
    ref, var = _study(0.0), _study(0.05)
    rows = compare_studies(ref, var)
    drl = _row(rows, "converged DRL satisfaction")
    assert drl.verdict == "higher" and drl.difference.n_seeds == 5 and drl.difference.n == 15
    per_seed = [np.mean([var.per_seed[i].targets[k].eval["drl"].mean_min_throughput_satisfaction
                         - ref.per_seed[i].targets[k].eval["drl"].mean_min_throughput_satisfaction
                         for k in (0, 1, 2)]) for i in range(5)]
    half = stats.t.ppf(0.975, 4) * np.std(per_seed, ddof=1) / np.sqrt(5)
    assert drl.difference.mean == pytest.approx(np.mean(per_seed))
    assert (drl.difference.lo, drl.difference.hi) == pytest.approx((np.mean(per_seed) - half, np.mean(per_seed) + half))
    assert compare_studies(var, ref)[0].verdict == "lower"  # swapping the studies flips the sign
    assert _row(rows, "TL satisfaction (final window)").verdict == "equivalent"  # unchanged: within the margin
    table = format_comparison(rows, "ref", "var")
    assert table.count("\n") == len(rows) + 1 and "| converged DRL satisfaction |" in table


def test_only_shared_pairs_are_compared_and_none_shared_is_an_error():
    ref, var = _study(0.0), _study(0.05, seeds=(3, 4, 5, 6), targets=(1, 2, 7))
    drl = _row(compare_studies(ref, var), "converged DRL satisfaction")
    assert drl.difference.n_seeds == 2 and drl.difference.n == 4  # seeds 3, 4 x targets 1, 2
    with pytest.raises(ValueError, match="share no"):
        compare_studies(ref, _study(0.0, seeds=(9,)))


def test_cli_compare_prints_and_writes_the_table(tmp_path, capsys):
    for name, shift in (("a", 0.0), ("b", -0.05)):
        (tmp_path / name).mkdir()
        write_json(tmp_path / name / "results.json", _study(shift).to_dict())
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "t.md")]) == 0
    out = capsys.readouterr().out
    assert "| converged DRL satisfaction | 0.92" in out and "lower" in out
    assert (tmp_path / "t.md").read_text() == out
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "missing")]) == 2
