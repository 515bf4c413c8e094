"""Rate fits and verdict rules on synthetic curves with known exponents."""

from pathlib import Path

import numpy as np
import pytest

import theory
from iclverify import verdicts as V
from simulations import rates
from simulations.config import EvalConfig, RunConfig, curve_key
from simulations.finetune import grid
from simulations.run import Run
from simulations.tasks import Halfspaces

NS = np.arange(0, 65)


def binomial_units(exponent: float, scale: float, units: int = 400, queries: int = 64, seed: int = 0) -> np.ndarray:
    """Per-unit error rates: Binomial(queries, min(0.5, scale N^exponent)) / queries, N = 0..64."""
    rng = np.random.default_rng(seed)
    mean = np.minimum(0.5, scale * np.maximum(NS, 1).astype(float) ** exponent)
    return rng.binomial(queries, np.broadcast_to(mean, (units, len(NS)))) / queries


def lognormal_units(exponent: float, sigma: float = 0.8, units: int = 400, seed: int = 0) -> np.ndarray:
    """Heavy multiplicative noise per (unit, N) around 0.3 N^exponent (TV-like, always positive)."""
    rng = np.random.default_rng(seed)
    mean = 0.3 * np.maximum(NS, 1).astype(float) ** exponent
    return mean * rng.lognormal(-(sigma**2) / 2, sigma, size=(units, len(NS)))


@pytest.mark.parametrize("exponent", [-1.0, -0.5])
def test_exponent_recovers_known_rate(exponent):
    est = rates.exponent(binomial_units(exponent, 0.6), NS, 4, resamples=400)
    assert abs(est.value - exponent) < 0.02 and est.ci[1] - est.ci[0] < 0.1


@pytest.mark.parametrize("exponent", [-1.0, -0.5])
def test_exponent_interval_covers_the_truth(exponent):
    """The nominal 95% interval covers the true exponent in most of 30 independent replications."""
    cis = [rates.exponent(binomial_units(exponent, 0.6, seed=s), NS, 4, resamples=300, seed=s).ci for s in range(30)]
    covered = sum(lo <= exponent <= hi for lo, hi in cis)
    assert covered >= 24, covered  # P(fewer | 95% coverage) < 0.001


def test_exponent_with_heavy_noise_still_covers():
    est = rates.exponent(lognormal_units(-0.5), NS, 4, resamples=400)
    assert est.ci[0] <= -0.5 <= est.ci[1]
    assert est.ci[1] - est.ci[0] < 0.25  # 400 units pin it down


def test_wrong_exponent_is_inconsistent():
    est = rates.exponent(binomial_units(-0.5, 0.6), NS, 4, resamples=400)
    assert V.decide_exponent(est, -1.0) == "inconsistent"
    est = rates.exponent(binomial_units(-1.0, 0.6), NS, 4, resamples=400)
    assert V.decide_exponent(est, -0.5) == "inconsistent"


def test_wide_interval_is_inconclusive_and_few_points_give_no_fit():
    few = binomial_units(-1.0, 0.6, units=6, queries=4)
    est = rates.exponent(few, NS, 4, resamples=200)
    assert V.decide_exponent(est, -1.0) in ("inconclusive", "inconsistent")
    assert V.decide_exponent(rates.Estimate(-1.0, (-1.6, -0.5), {}), -1.0) == "inconclusive"
    flat = np.zeros((50, len(NS)))  # nothing resolved
    est = rates.exponent(flat, NS, 4)
    assert np.isnan(est.value) and "resolved" in est.detail["reason"]
    assert V.decide_exponent(est, -1.0) == "inconclusive"


def test_fit_range_drops_unresolved_points_and_respects_start():
    u = binomial_units(-1.0, 0.6)
    keep = rates.fit_range(u, NS, 8)
    assert not keep[:8].any() and keep[8:].all()
    u[:, 40:] = 0.0
    assert not rates.fit_range(u, NS, 8)[40:].any()


def test_n_star_and_crossing_on_exact_power_law():
    curve = 2.0 / np.maximum(NS, 1)
    assert rates.n_star(curve, NS, 0.1) == 20  # 2/20 = 0.1
    assert rates.n_star(curve, NS, 0.01) == np.inf
    assert rates.crossing(curve, NS, 0.07) == pytest.approx(2 / 0.07)  # log-log interpolation is exact here
    assert rates.crossing(curve, NS, 0.01) == pytest.approx(200)  # extrapolated along the last segment
    assert rates.crossing(np.full(len(NS), 0.3), NS, 0.1) == np.inf  # flat: never
    batched = np.stack([curve, 2 * curve])
    assert np.allclose(rates.crossing(batched, NS, 0.1), [20, 40])


def test_scaling_recovers_linear_and_rejects_quadratic():
    linear = [(d, binomial_units(-1.0, 0.08 * d, seed=d)) for d in (2, 4, 8)]
    est = rates.scaling(linear, NS, [4, 8, 16], resamples=300)
    assert est.ci[0] <= 1.0 <= est.ci[1] and V.decide_exponent(est, 1.0) == "consistent"
    quadratic = [(d, binomial_units(-1.0, 0.01 * d * d, seed=d)) for d in (2, 4, 8)]
    est = rates.scaling(quadratic, NS, [4, 8, 16], resamples=300)
    assert V.decide_exponent(est, 1.0) == "inconsistent" and est.value > 1.7
    one = rates.scaling(linear[:1], NS, [4])
    assert np.isnan(one.value)


def test_quantile_and_n_star_estimates():
    u = binomial_units(-1.0, 0.6)
    q = rates.quantile_at(u, 10, 0.9, resamples=300)
    assert q.value == pytest.approx(np.quantile(u[:, 10], 0.9)) and q.ci[0] <= q.value <= q.ci[1]
    est = rates.n_star_estimate(u, NS, 0.05, level=0.9, resamples=300)
    assert est.value == rates.n_star(np.quantile(u, 0.9, axis=0), NS, 0.05)
    assert est.ci[0] <= est.value <= est.ci[1]
    r = rates.ratio(u, 32, 8, resamples=300)
    assert r.value == pytest.approx(u[:, 32].mean() / u[:, 8].mean()) and r.ci[0] < r.value < r.ci[1]


def test_inequality_rule():
    est = rates.Estimate(0.1, (0.08, 0.12), {})
    assert V.decide_inequality(est, 0.15, "<=") == "consistent"
    assert V.decide_inequality(est, 0.05, "<=") == "inconsistent"
    assert V.decide_inequality(est, 0.1, "<=") == "inconclusive"
    assert V.decide_inequality(est, 0.05, ">=") == "consistent"
    assert V.decide_inequality(est, 0.15, ">=") == "inconsistent"
    assert V.decide_inequality(rates.Estimate(np.nan, (np.nan, np.nan), {}), 1, ">=") == "inconclusive"


def synthetic_run(exponent: float, size_power: float = 1.0) -> Run:
    """A classification 'run' whose per-task risk follows 0.15 d^size_power N^exponent exactly in expectation."""
    dims = (2, 4, 8)
    cfg = RunConfig(Halfspaces(n_max=64, dims=dims), eval=EvalConfig(tasks=200, finetune_tasks=50))
    errors = {}
    for d in dims:
        units = binomial_units(exponent, 0.15 * d**size_power, units=400, seed=d).reshape(2, 200, -1)
        errors[f"{curve_key({'d': d})}/icl_risk"] = units
        errors[f"{curve_key({'d': d})}/bayes"] = units[0]
        ft = np.random.default_rng(d).binomial(1, 0.5 / np.sqrt(np.maximum(grid(64), 1)), size=(2, 50, len(grid(64))))
        errors[f"{curve_key({'d': d})}/icl_vs_finetune"] = ft.astype(float)
    return Run(Path("synthetic"), cfg, {}, errors, {})


def test_run_verdicts_on_a_synthetic_run_with_the_right_rate():
    rows = V.run_verdicts(synthetic_run(-1.0))
    by = {(r["check"], str(r["params"].get("d"))): r for r in rows if r["claim"] == "paper.linear-classification"}
    for d in ("2", "4", "8"):
        assert by[("exponent", d)]["verdict"] == "consistent"
        assert by[("icl-vs-finetune", d)]["verdict"] == "consistent"
    assert by[("scaling in d", "None")]["verdict"] == "consistent"
    assert {r["verdict"] for r in rows} <= set(V.VERDICTS)
    assert all(set(r) >= {"claim", "check", "verdict", "estimate", "ci", "expected"} for r in rows)
    # every upper bound of the problem is checked, by id from the catalogue
    assert {r["claim"] for r in rows if r["check"] == "holds"} == set(Halfspaces.bounds)


def test_run_verdicts_flag_the_wrong_rate_and_scaling():
    rows = V.run_verdicts(synthetic_run(-0.5, size_power=1.0))  # N* ~ d^2 / eps^2
    exps = [r for r in rows if r["check"] == "exponent"]
    assert all(r["verdict"] == "inconsistent" for r in exps)
    (scale,) = [r for r in rows if r["check"] == "scaling in d"]
    assert scale["verdict"] == "inconsistent"


def test_holds_uses_the_catalogue_bound_n():
    run = synthetic_run(-1.0)
    rows = [r for r in V.run_verdicts(run) if r["check"] == "holds" and r["claim"] == "paper.linear-classification"]
    assert rows

    for r in rows:
        p = r["params"]
        assert p["n_bound"] == int(np.ceil(theory.get("paper.linear-classification").n(eps=p["eps"], d=p["d"])))


def test_verdicts_are_deterministic():
    run = synthetic_run(-1.0)
    assert V.run_verdicts(run, seed=3) == V.run_verdicts(run, seed=3)
