"""A user's own problem as a reference: bounds on problems declared outside the package are checked for validity
by plain `check_bound` (examples/user_problems.py declares two), and the package's own new references."""

import dataclasses
import importlib.util
import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import theory
from theory.problems import _agnostic, _independent, _mode
from theory.reference import MonteCarlo, power, problems, reference_for, register_problem, trials_for
from theory.symbols import InputError, delta, eps
from theory.testing import BoundCheckError, check_bound

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "user_problems.py"


@pytest.fixture(scope="module")
def user():
    """The user's file, imported as a user would run it (not a package module)."""
    spec = importlib.util.spec_from_file_location("user_problems", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["user_problems"] = module
    spec.loader.exec_module(module)
    return module


def test_a_valid_bound_on_a_users_problem_passes_plain_check_bound_with_its_looseness(user):
    report = check_bound(user.MEDIAN)
    assert "valid" in report.properties and report.monte_carlo is not None
    mc = report.monte_carlo
    assert mc.false is None and mc.unfinished == 0 and len(mc.tests) == 4 * len(user.MEDIAN_LAWS)
    assert mc.alpha == pytest.approx(0.01 / len(mc.tests))
    assert "power 0.99 per test against a failure rate of 2 delta" in str(mc)
    lo = report.looseness
    assert lo["basis"] == "Monte Carlo" and 1.5 < lo["ratio"] < 2.5  # Hoeffding vs the Beta law of F(median)
    assert "Monte Carlo on 'median-rank'" in str(report)


@pytest.mark.parametrize(("name", "laws"), [("MEDIAN", "MEDIAN_LAWS"), ("MEAN", "BERNOULLI")])
def test_a_constant_four_times_too_small_fails_with_the_parameters_and_the_witness_law(user, name, laws):
    bound = user.scaled(getattr(user, name), 1 / 4, "quarter")
    invalid = r"\[valid\] .*invalid upper bound: at eps=.*, delta=.* its n = \d+ leaves a failure rate .* under the law"
    with pytest.raises(BoundCheckError, match=invalid) as e:
        check_bound(bound, only=["valid"])
    assert any(f"under the law {law!r}" in str(e.value) for law in getattr(user, laws))


def test_the_monte_carlo_reference_agrees_with_the_exact_one_on_the_same_problem(user):
    point = {"eps": 0.1, "delta": 0.05}
    mc = reference_for("bounded-mean").monte_carlo.smallest_n(point, trials=20_000)
    exact = reference_for("mean-estimation").smallest_n(point)
    assert abs(mc - exact) <= 0.1 * exact, (mc, exact)


def test_lower_bounds_are_checked_with_the_estimator_that_should_beat_them(user):
    lecam = dataclasses.replace(theory.get("mean.lecam-lower"), id="my.lecam", problem="bounded-mean")
    check_bound(lecam, only=["valid"])  # true: the empirical mean does not beat it
    too_large = dataclasses.replace(lecam, id="my.too-large", expr=2 * sp.log(1 / delta) / eps**2)
    with pytest.raises(BoundCheckError, match=r"false lower bound: .* under every declared law of 'bounded-mean'"):
        check_bound(too_large, only=["valid"])


def test_register_problem_refuses_bad_declarations_naming_the_argument(user):
    draw, laws = user.mean_error, lambda **ps: user.BERNOULLI
    for kwargs, message in [
        (dict(power=1.5), "power must be in"),
        (dict(time_limit=0), "time_limit must be"),
        (dict(points=[{"eps": 0.1}]), "every point needs delta"),
        (dict(points=[{"eps": 2.0, "delta": 0.1}]), "eps must be"),
        (dict(draw=3), "draw must be callable"),
    ]:
        with pytest.raises(InputError, match=message):
            register_problem("x-bad", **({"draw": draw, "laws": laws} | kwargs))
    with pytest.raises(InputError, match="already registered; pass replace=True"):
        register_problem("bounded-mean", draw, laws)
    assert "x-bad" not in problems()


def test_a_draw_that_breaks_its_contract_gets_one_line_naming_it(user):
    bad = MonteCarlo(lambda rng, n, law, trials, **ps: np.zeros(trials + 1), lambda **ps: {"a": 0})
    with pytest.raises(InputError, match=r"draw must return one error per trial, shape"):
        bad.evidence(user.MEAN, "bad")
    nan = MonteCarlo(lambda rng, n, law, trials, **ps: np.full(trials, np.nan), lambda **ps: {"a": 0})
    with pytest.raises(InputError, match="draw returned NaN errors"):
        nan.evidence(user.MEAN, "nan")


def test_a_bound_no_declared_point_applies_to_is_reported_not_checked(user):
    from theory.symbols import V

    register_problem("x-no-V", user.mean_error, lambda **ps: user.BERNOULLI, points=[{"eps": 0.1, "delta": 0.05}])
    try:
        bound = dataclasses.replace(user.MEAN, id="my.with-V", problem="x-no-V", expr=V * user.MEAN.expr / 1000)
        report = check_bound(bound, only=["valid"])
        assert report.reference.startswith("NOT CHECKED") and "a point lacks V" in str(report.monte_carlo)
    finally:
        theory.unregister_problem("x-no-V")


def test_the_time_limit_stops_a_slow_check_and_says_so(user):
    def slow(rng, n, law, trials, **ps):
        time.sleep(0.02)
        return np.zeros(trials)

    mc = MonteCarlo(slow, lambda **ps: {"a": 0}, time_limit=0.05).evidence(user.MEAN, "slow")
    assert mc.false is None and mc.unfinished > 0 and "stopped at the time limit" in str(mc)


def test_trials_give_the_stated_power():
    for d in (0.05, 0.01, 1e-3):
        t = trials_for(d, 0.001, 0.9)
        assert power(t, d, 2 * d, 0.001) >= 0.9 and power(t // 2, d, 2 * d, 0.001) < 0.9


# ---- the package's new references ----------------------------------------------------------------------------
def test_mode_at_two_outcomes_is_exact_against_simulation():
    rng = np.random.default_rng(0)
    n, e = 40, 0.2
    f = _mode(n, {"eps": e, "V": 2}, "upper")
    law = np.array([(1 + e) / 2, (1 - e) / 2])
    counts = rng.multinomial(n, law, size=200_000)
    wrong = np.mean(counts[:, 1] >= counts[:, 0])  # ties against the learner
    assert f.low == pytest.approx(f.high, rel=1e-6) and abs(wrong - f.high) < 4 * math.sqrt(f.high / 200_000)


def test_agnostic_constructions_are_exact_and_below_the_certified_union_bound():
    rng = np.random.default_rng(1)
    n, e, others = 30, 0.15, 3  # |H| = 4 = V^l with V = 2, l = 2
    x0 = rng.binomial(n, (1 - e) / 2, size=200_000)
    xs = rng.binomial(n, (1 + e) / 2, size=(others, 200_000))
    simulated = np.mean(xs.min(0) <= x0)
    exact = _independent(n, e, math.log(others))
    assert abs(simulated - exact) < 4 * math.sqrt(exact / 200_000)
    for n in (10, 100, 1000):
        f = _agnostic(n, {"eps": e, "V": 2, "l": 2}, "upper")
        assert f.low <= f.high <= 1


def test_every_catalogue_problem_has_a_reference():
    assert {b.problem for b in theory.catalogue()} <= set(problems())
