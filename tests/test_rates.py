"""Rate fits and verdict rules on synthetic curves with known exponents."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import theory
from iclverify import verdicts as V
from simulations import rates
from simulations.config import EvalConfig, RunConfig
from simulations.finetune import grid
from simulations.records import curve_key
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


def test_one_sided_rule_for_an_upper_bound():
    """An upper bound is contradicted only by a slower rate; a faster one is consistent."""
    slower = rates.exponent(binomial_units(-0.5, 0.6), NS, 4, resamples=400)
    assert V.decide_upper(slower, -1.0, V.alternative(-1.0, in_n=True)) == "inconsistent"
    faster = rates.exponent(binomial_units(-1.0, 0.6), NS, 4, resamples=400)
    assert V.decide_upper(faster, -0.5, V.alternative(-0.5, in_n=True)) == "consistent"
    est = lambda lo, hi: rates.Estimate((lo + hi) / 2, (lo, hi), {})  # noqa: E731
    assert V.decide_upper(est(-1.2, -0.8), -1.0, -0.5) == "consistent"
    assert V.decide_upper(est(-0.9, -0.6), -1.0, -0.5) == "inconsistent"
    assert V.decide_upper(est(-1.3, -0.4), -1.0, -0.5) == "inconclusive"  # cannot exclude the alternative
    assert V.alternative(1.0, in_n=False) == 2.0 and V.alternative(0.0, in_n=False) == 1.0


def test_few_points_or_a_short_range_give_no_fit():
    flat = np.zeros((50, len(NS)))  # nothing resolved
    est = rates.exponent(flat, NS, 4)
    assert np.isnan(est.value) and "resolved" in est.detail["reason"]
    assert V.decide_upper(est, -1.0, -0.5) == "inconclusive"
    short = rates.exponent(binomial_units(-1.0, 0.6), NS, 40)  # [40, 64]: less than a factor of 2
    assert np.isnan(short.value) and "factor of 2" in short.detail["reason"]


def test_fit_points_are_log_spaced_and_fixed_by_the_config():
    pts = rates.fit_points(8, 64)
    assert pts[0] == 8 and pts[-1] == 64 and len(pts) == 13
    ratios = pts[1:] / pts[:-1]
    assert ratios.max() / ratios.min() < 1.3  # every octave weighs the same
    u = binomial_units(-1.0, 0.6)
    u[:, 40:] = 0.0  # the data cannot shrink the range: an unresolved point makes the fit undefined
    est = rates.exponent(u, NS, 8)
    assert np.isnan(est.value) and "N = [" in est.detail["reason"]


def test_intervals_widen_when_seeds_disagree_on_shared_tasks():
    """Two-stage bootstrap: seeds that differ (one model better than the other on the same tasks) widen the
    interval; flattening seeds x tasks into independent units would not."""
    rng = np.random.default_rng(0)
    tasks = rng.gamma(2.0, 0.5, size=(1, 300, 1)) * 0.2 / np.maximum(NS, 1)
    same = np.repeat(tasks, 4, axis=0)
    apart = tasks * np.array([0.7, 0.9, 1.1, 1.3])[:, None, None]

    def width(u):
        lo, hi = rates.mean_interval(u, resamples=400)
        return (hi - lo)[10]

    alone, flat = width(tasks), width(same.reshape(1, -1, len(NS)))
    assert width(same) == pytest.approx(alone, rel=0.25)  # identical seeds: only the 300 tasks vary
    assert flat < 0.7 * alone  # flattening 4 x 300 shared units as independent is ~sqrt(4) too narrow
    assert width(apart) > 2 * width(same)  # model-to-model spread appears in the interval
    closer = tasks * np.array([0.85, 0.95, 1.05, 1.15])[:, None, None]
    noisy = rng.binomial(64, np.minimum(1, closer * np.maximum(NS, 1) ** np.array([-0.03, 0, 0, 0.03])[:, None, None]))
    seeds = rates.exponent(noisy / 64, NS, 4, resamples=400)
    flat = rates.exponent((noisy / 64).reshape(1, -1, len(NS)), NS, 4, resamples=400)
    assert seeds.ci[1] - seeds.ci[0] > 1.5 * (flat.ci[1] - flat.ci[0])
    assert len(seeds.detail["per_seed"]) == 4 and np.ptp(seeds.detail["per_seed"]) > 0.03


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
    assert est.ci[0] <= 1.0 <= est.ci[1] and V.decide_upper(est, 1.0, 2.0) == "consistent"
    assert est.detail["exponent_n"] == pytest.approx(-1.0, abs=0.05)
    quadratic = [(d, binomial_units(-1.0, 0.03 * d * d, seed=d)) for d in (2, 4, 8)]
    est = rates.scaling(quadratic, NS, [4, 8, 16], resamples=300)
    assert V.decide_upper(est, 1.0, 2.0) == "inconsistent" and est.value > 1.7
    one = rates.scaling(linear[:1], NS, [4])
    assert np.isnan(one.value)


def test_equivalence_rule():
    est = lambda lo, hi: rates.Estimate((lo + hi) / 2, (lo, hi), {})  # noqa: E731
    assert V.decide_equivalence(est(-0.02, 0.03), 0.05) == "consistent"
    assert V.decide_equivalence(est(0.06, 0.1), 0.05) == "inconsistent"
    assert V.decide_equivalence(est(-0.1, -0.07), 0.05) == "inconsistent"
    assert V.decide_equivalence(est(0.01, 0.08), 0.05) == "inconclusive"
    a, b = binomial_units(-1.0, 0.6, seed=1), binomial_units(-1.0, 0.6, seed=2)
    d = rates.difference(a, b, 20, level=0.9, resamples=300)
    assert d.value == pytest.approx(a[:, 20].mean() - b[:, 20].mean()) and d.ci[0] < d.value < d.ci[1]


def test_quantile_and_n_star_estimates():
    u = binomial_units(-1.0, 0.6)
    q = rates.quantile_at(u, 10, 0.9, resamples=300)
    assert q.value == pytest.approx(np.quantile(u[:, 10], 0.9)) and q.ci[0] <= q.value <= q.ci[1]
    est = rates.n_star_estimate(u, NS, 0.05, level=0.9, resamples=300)
    assert est.value == rates.n_star(np.quantile(u, 0.9, axis=0), NS, 0.05)
    assert est.ci[0] <= est.value <= est.ci[1]
    r = rates.ratio_between(u, u, 32, resamples=300)
    assert r.value == pytest.approx(1.0) and r.ci == pytest.approx((1.0, 1.0))


def test_inequality_rule():
    est = rates.Estimate(0.1, (0.08, 0.12), {})
    assert V.decide_inequality(est, 0.15, "<=") == "consistent"
    assert V.decide_inequality(est, 0.05, "<=") == "inconsistent"
    assert V.decide_inequality(est, 0.1, "<=") == "inconclusive"
    assert V.decide_inequality(est, 0.05, ">=") == "consistent"
    assert V.decide_inequality(est, 0.15, ">=") == "inconsistent"
    assert V.decide_inequality(rates.Estimate(np.nan, (np.nan, np.nan), {}), 1, ">=") == "inconclusive"


def synthetic_run(slowdown: float = 0.0, size_power: float = 1.0, ft_bayes: bool = False) -> Run:
    """A classification 'run': the reference's per-task risk has the exact d = 2 Bayes shape d / (4(N + 1)) (times
    d^(size_power - 1)), ICL's is the reference's times (N / 16)^slowdown with its own task noise (also at half
    the training budget); the fine-tuned model's risk is ICL's plus 0.01 on the same tasks, or with ft_bayes the
    reference's."""
    dims = (2, 4, 8)
    cfg = RunConfig(Halfspaces(n_max=64, dims=dims), eval=EvalConfig(tasks=200, finetune_tasks=50, risk_tasks=200))
    errors = {}
    g = grid(64)
    rng = np.random.default_rng(0)
    n = np.maximum(NS, 1).astype(float)
    for d in dims:
        mean = 0.25 * d**size_power / (n + 1)
        difficulty = rng.gamma(2.0, 0.5, size=(200, 1))
        ref = rng.binomial(256, np.minimum(mean * difficulty, 1)) / 256
        icl_mean = mean * (n / 16) ** slowdown * difficulty * rng.gamma(4.0, 0.25, size=(2, 200, 1))
        icl = rng.binomial(256, np.minimum(icl_mean, 1)) / 256
        half = rng.binomial(256, np.minimum(icl_mean, 1)) / 256
        key = curve_key({"d": d})
        errors[f"{key}/icl_risk"] = icl
        errors[f"{key}/halfway_risk"] = half
        errors[f"{key}/bayes_risk"] = ref
        errors[f"{key}/logistic"] = icl[0]
        errors[f"{key}/finetune_risk"] = np.stack([ref[:50, g]] * 2) if ft_bayes else icl[:, :50, g] + 0.01
    return Run(Path("synthetic"), cfg, {}, errors, {})


def test_run_verdicts_on_a_synthetic_run_with_the_right_rate():
    rows = V.run_verdicts(synthetic_run())
    by = {(r.check, str(r.params.get("d"))): r for r in rows if r.claim == "paper.linear-classification"}
    for d in ("2", "4", "8"):
        rel = by[("rate relative to bayes_risk", d)]
        assert rel.verdict == "consistent" and rel.kind == "falsifiable" and "Haussler" in rel.detail["proved"]
        assert by[("exponent", d)].kind == "sanity"  # the absolute exponent is descriptive
        assert by[("exponent, bayes_risk reference", d)].kind == "sanity"
        assert by[("fine-tuned minus logistic", d)].kind == "sanity"
        assert by[("icl-vs-finetune non-inferiority", d)].verdict == "consistent"
        assert by[("icl-vs-finetune equivalence", d)].kind == "sanity"
    assert by[("N* scaling in d relative to bayes_risk", "None")].verdict == "consistent"
    assert {r.verdict for r in rows} <= set(V.VERDICTS) and {r.kind for r in rows} <= set(V.KINDS)
    assert all(isinstance(r, V.Verdict) for r in rows)
    record = rows[0].to_dict()  # the JSON record: the fields, with the estimate's detail at the top level
    assert list(record)[:9] == [f.name for f in dataclasses.fields(V.Verdict)][:9]
    assert record["interval"] == list(rows[0].interval) and record.items() >= rows[0].detail.items()
    # every upper bound of the problem is checked, by id from the catalogue
    assert {r.claim for r in rows if r.check == "holds"} == set(Halfspaces.bounds)
    # an unspecified constant (the paper's C = 1) never counts
    assert all(r.kind == "sanity" for r in rows if r.check == "holds" and not r.detail["explicit"])


def test_run_verdicts_flag_a_slow_rate_a_size_dependence_and_a_worse_finetune():
    rows = V.run_verdicts(synthetic_run(slowdown=0.5, size_power=2.0, ft_bayes=True))
    rel = [r for r in rows if r.check == "rate relative to bayes_risk"]
    assert all(r.verdict == "inconsistent" for r in rel), [(r.estimate, r.interval) for r in rel]
    assert all(r.verdict == "inconsistent" for r in rows if r.check == "icl-vs-finetune non-inferiority")


def test_a_model_still_improving_is_inconclusive_not_inconsistent():
    """ICL half an order slower than the reference, but its q fell as much in the second half of training: one more
    equal improvement could bring it within the tolerance, so the row is inconclusive with the reason."""
    run = synthetic_run(slowdown=0.5)
    ns = np.arange(65)
    p = {"d": 4}
    icl, ref = V.units(run, p, "icl_risk"), V.units(run, p, "bayes_risk")
    early = icl * (np.maximum(ns, 1) / 16.0) ** 0.4  # slower still at half the budget
    est = rates.relative_exponent(icl, ref, ns, halfway=early)
    assert est.detail["improvement"]["estimate"] > 0.3
    verdict, why = V.decide_relative(est, V.TOLERANCE)
    assert verdict == "inconclusive" and why.startswith("still improving")
    assert V.decide_relative(rates.relative_exponent(icl, ref, ns), V.TOLERANCE)[0] == "inconsistent"


def test_an_unresolved_halfway_curve_leaves_q_but_not_the_gate():
    """Halfway risks whose two seeds disagree so much that their mean is within 5 standard errors of 0: q stands, the
    gate is unknown, so an inconsistent needing it becomes inconclusive and a consistent stays."""
    run = synthetic_run(slowdown=0.5)
    ns = np.arange(65)
    icl, ref = V.units(run, {"d": 4}, "icl_risk"), V.units(run, {"d": 4}, "bayes_risk")
    wild = icl * np.array([0.0, 20.0])[:, None, None]  # one seed's halfway model at 0, the other 20x ICL's
    est = rates.relative_exponent(icl, ref, ns, halfway=wild)
    assert est.detail["gate_unknown"].startswith("halfway learner: mean error not resolved")
    assert "improvement" not in est.detail and est.value == rates.relative_exponent(icl, ref, ns).value
    why = f"{V.BUDGET_UNKNOWN}: {est.detail['gate_unknown']}"
    assert V.decide_relative(est, V.TOLERANCE) == ("inconclusive", why)
    same = rates.relative_exponent(ref.repeat(2, 0), ref, ns, halfway=wild)
    assert V.decide_relative(same, V.TOLERANCE)[0] == "consistent"
    assert V.decide_relative(same, V.TOLERANCE, gate_down=True)[1].startswith(V.BUDGET_UNKNOWN)  # a finite pool
    sized = [({"d": d}, icl, ref, wild) for d in (2, 4)]  # the size check: the same, per curve
    est = rates.relative_scaling(sized, ns, resamples=50)["d"]
    assert est.detail["gate_unknown"].startswith("curve {'d': 2.0}: halfway learner")
    assert "improvement" not in est.detail


def test_checks_the_calibration_found_short_are_reported_as_underpowered():
    """At the quick tokens sizes the rate and size rows are underpowered (docs/verdicts.md), whatever the rule says;
    the same family at other sizes keeps the rule's verdict."""
    from simulations.presets import PRESETS

    assert V.calibrated_preset(PRESETS["quick"]["tokens"]) == "quick"
    assert V.calibrated_preset(PRESETS["full"]["regression"]) == "full"
    other = PRESETS["quick"]["tokens"].assign({"train.seeds": 3})
    assert V.calibrated_preset(other) is None
    run = synthetic_run()
    ref = V.units(run, {"d": 4}, "bayes_risk")
    est = rates.relative_exponent(ref, ref, np.arange(65))  # the reference against itself: q = 0
    quick = dataclasses.replace(run, cfg=PRESETS["quick"]["tokens"])
    row = V.relative_row(quick, "rate relative to posterior_mean_risk", {}, est, V.TOLERANCE, "posterior_mean_risk")
    assert row.verdict == "inconclusive" and row.detail["why"].startswith(V.UNDERPOWERED)
    assert row.detail["why"].endswith("the rule alone: consistent")


def test_cost_exponent_is_zero_for_a_constant_factor_and_a_half_for_half_an_order_slower():
    n = np.maximum(NS, 1).astype(float)
    ref = (0.5 / (n + 1))[None]
    for learner, expected in ((ref * 1.4, 0.0), (ref[:, (NS // 2)], 0.0), (ref * (n / 16) ** 0.5, 0.5)):
        est = rates.relative_exponent(learner[None], ref, NS, resamples=50)
        assert est.value == pytest.approx(expected, abs=0.06), est.value
    # an offset learner a / (N + 2d) kept above the reference: within a constant factor, but q > 0 on [16, 64]
    q = rates.offset_cost(ref[0], NS, 4.0, -1.0)
    assert 0 < q < V.TOLERANCE
    sized = [({"d": d}, ref * 1.4, ref, None) for d in (2, 4, 8)]  # the same factor at every size
    assert rates.relative_scaling(sized, NS, resamples=50)["d"].value == pytest.approx(0.0, abs=1e-9)
    quadratic = [({"d": d}, ref[:, NS * 2 // d], ref, None) for d in (2, 4, 8)]  # d / 2 times the examples
    assert rates.relative_scaling(quadratic, NS, resamples=50)["d"].value == pytest.approx(1.0, abs=0.1)


def test_holds_is_read_inside_the_measured_range():
    run = synthetic_run(-1.0)
    rows = [r for r in V.run_verdicts(run) if r.check == "holds"]
    assert rows
    for r in rows:
        p = r.params
        if r.estimate is None:
            assert "vacuous" in r.detail["reason"] and r.kind == "sanity"
            continue
        bound = theory.get(r.claim)
        args = {k: v for k, v in p.items() if k in bound.parameters and k not in ("eps", "delta")}
        assert p["n_bound"] <= 64  # never an extrapolation beyond n_max
        n = float(bound.n(eps=p["eps"], delta=p["delta"], **args))
        assert n <= p["n_bound"] < n + 1  # the bound's N at the eps read, rounded up


def test_verdicts_are_deterministic():
    run = synthetic_run(-1.0)
    assert V.run_verdicts(run, seed=3) == V.run_verdicts(run, seed=3)
