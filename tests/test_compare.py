"""theory.compare on arrays with known failure rates."""

import math

import numpy as np
import pytest

import theory

HOEFFDING = theory.get("hoeffding")


def errors_with_rate(rate: float, trials: int, eps: float, rng: np.random.Generator) -> np.ndarray:
    """Errors that reach eps with probability exactly `rate` (2 eps) and otherwise stay well below it."""
    return np.where(rng.random(trials) < rate, 2 * eps, eps / 10)


def test_known_rates_are_called_right():
    rng = np.random.default_rng(0)
    n = math.ceil(HOEFFDING.n(eps=0.1, delta=0.05))
    ok = theory.compare(HOEFFDING, n, errors_with_rate(0.02, 4000, 0.1, rng), eps=0.1, delta=0.05)
    bad = theory.compare(HOEFFDING, n, errors_with_rate(0.10, 4000, 0.1, rng), eps=0.1, delta=0.05)
    assert ok.verdict == "consistent" and bad.verdict == "inconsistent"
    assert ok.ci95[0] <= 0.02 <= ok.ci95[1] and bad.ci95[0] <= 0.10 <= bad.ci95[1]
    assert bad.p_value < 0.01 <= ok.p_value


def test_false_alarm_rate_is_at_most_alpha_at_the_boundary():
    rng = np.random.default_rng(1)
    n = math.ceil(HOEFFDING.n(eps=0.1, delta=0.05))
    calls = [
        theory.compare(HOEFFDING, n, errors_with_rate(0.05, 1000, 0.1, rng), eps=0.1, delta=0.05).verdict
        for _ in range(300)
    ]
    assert calls.count("inconsistent") / len(calls) <= 0.03  # exact test at alpha = 0.01: conservative


def test_real_empirical_means_are_consistent_and_report_conservativeness():
    rng = np.random.default_rng(2)
    n = math.ceil(HOEFFDING.n(eps=0.1, delta=0.05))
    errs = np.abs(rng.binomial(n, 0.5, size=5000) / n - 0.5)
    c = theory.compare(HOEFFDING, n, errs, eps=0.1, delta=0.05)
    assert c.verdict == "consistent" and c.failures < 0.05 * 5000
    assert c.eps_guaranteed == pytest.approx(0.1, rel=1e-2) and c.conservativeness > 1  # Hoeffding is loose
    assert set(c.to_dict()) >= {"verdict", "ci95", "p_value", "conservativeness"}


def test_below_the_bound_n_nothing_is_promised():
    c = theory.compare(HOEFFDING, 10, np.full(100, 0.5), eps=0.1, delta=0.05)
    assert c.verdict == "not applicable" and c.n_bound == 185


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match=r"^errors must"):
        theory.compare(HOEFFDING, 10, np.array([np.nan]), eps=0.1, delta=0.05)
    with pytest.raises(ValueError, match=r"^n must"):
        theory.compare(HOEFFDING, 0, np.zeros(3), eps=0.1, delta=0.05)
    with pytest.raises(ValueError, match=r"^eps must"):
        theory.compare(HOEFFDING, 10, np.zeros(3), eps=2.0, delta=0.05)
    with pytest.raises(ValueError, match=r"^bound must be an upper bound"):
        theory.compare(theory.get("mean.lecam-lower"), 10, np.zeros(3), eps=0.1, delta=0.05)
