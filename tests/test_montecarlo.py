"""Monte-Carlo coverage of every concentration bound; a 10x-too-small constant must fail it."""

import dataclasses

import numpy as np
import pytest

import theory
from theory.montecarlo import EXPERIMENTS, coverage, experiments_for, tv_error, uniform

CONCENTRATION = [
    "hoeffding",
    "tv.bretagnolle-huber-carol",
    "tv.expectation-mcdiarmid",
    "linf.dkw",
    "text-generation.union",
    "text-generation.mcdiarmid-union",
    "contexts.coverage",
    "text-generation.random-contexts",
]


def test_every_concentration_bound_has_experiments():
    for bound_id in CONCENTRATION:
        assert experiments_for(bound_id), bound_id
    assert len(experiments_for("tv.bretagnolle-huber-carol")) == 3  # uniform, skewed, and V = 2 near-tight
    assert all(e.name.startswith("our reading's estimator") for e in EXPERIMENTS if e.bound_id.startswith("paper."))


def test_near_tight_cases_have_power_against_a_2x_too_small_constant():
    near = [e for e in EXPERIMENTS if "near-tight" in e.name]
    assert len(near) >= 3
    for exp in near:
        result = coverage(exp, trials=4000, conservativeness=False)
        assert result["passed"] and result["power_2x_too_small"] >= 0.8, (exp.name, result)


def test_random_contexts_sampler_leaves_empty_contexts_failed():
    from theory.montecarlo import random_contexts_tv_error

    laws = [uniform(3)] * 4
    errors = random_contexts_tv_error(laws)(2, 500, np.random.default_rng(0))  # 2 examples, 4 contexts
    assert np.all(errors == 1.0)  # some context is always empty


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=lambda e: f"{e.bound_id}:{e.name}")
def test_coverage_passes(exp):
    result = coverage(exp, trials=4000, conservativeness=False)
    assert result["passed"], result
    assert result["n"] == int(np.ceil(theory.get(exp.bound_id).n(**exp.params)))


def test_constant_ten_times_too_small_fails_coverage():
    hoeffding = theory.get("hoeffding")
    small = dataclasses.replace(hoeffding, id="hoeffding/10", expr=hoeffding.expr / 10, derive=None)
    result = coverage(experiments_for("hoeffding")[0], small, trials=4000, conservativeness=False)
    assert not result["passed"] and result["rate"] > 0.2 and result["p_value"] < 1e-6


def test_same_seed_same_numbers_and_conservativeness_reported():
    exp = experiments_for("tv.bretagnolle-huber-carol")[0]
    a = coverage(exp, trials=2000, seed=3)
    b = coverage(exp, trials=2000, seed=3)
    assert a == b
    assert 0 < a["n_empirical_over_bound"] <= 1  # the bound is conservative here


def test_tv_sampler_matches_a_plain_loop():
    """The vectorized sampler draws the same data as a per-trial loop with the same generator."""
    p = uniform(4)
    vec = tv_error(p)(50, 5, np.random.default_rng(1))
    rng = np.random.default_rng(1)
    counts = rng.multinomial(50, p, size=5)
    loop = [0.5 * np.abs(c / 50 - p).sum() for c in counts]
    np.testing.assert_allclose(vec, loop)


def test_check_cli_json(capsys):
    import json

    from iclverify.cli import main

    assert main(["check", "linf.dkw", "--json", "--trials", "2000"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["battery"]["passed"] and all(c["passed"] for c in out[0]["coverage"])
    assert {"rate", "ci95", "p_value", "n_empirical_over_bound"} <= set(out[0]["coverage"][0])
