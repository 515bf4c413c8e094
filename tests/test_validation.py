"""Every bad input is rejected with a ValueError naming the parameter and its valid range."""

import numpy as np
import pytest

import theory

BAD_PROBABILITY = [0, 1, -0.1, 1.5, float("nan"), float("inf"), "0.1", None, True, [0.1, 2.0]]
BAD_INTEGER = [0, -3, 2.5, float("nan"), float("inf"), "3", None, np.array([3, 0])]


@pytest.mark.parametrize("value", BAD_PROBABILITY, ids=repr)
@pytest.mark.parametrize("name", ["eps", "delta"])
def test_probability_parameters(name, value):
    params = {"eps": 0.1, "delta": 0.05, "m": 10, "V": 7} | {name: value}
    with pytest.raises(ValueError, match=rf"^{name} must be a real number in \(0, 1\)"):
        theory.get("paper.text-generation").n(**params)


@pytest.mark.parametrize("value", BAD_INTEGER, ids=repr)
@pytest.mark.parametrize(
    ("name", "bound_id"),
    [
        ("m", "paper.text-generation"),
        ("V", "paper.text-generation"),
        ("l", "finite-class.agnostic"),
        ("d", "vc.blumer"),
    ],
)
def test_integer_parameters(name, bound_id, value):
    b = theory.get(bound_id)
    params = {
        k: v for k, v in {"eps": 0.1, "delta": 0.05, "m": 10, "V": 7, "l": 3, "d": 4}.items() if k in b.parameters
    } | {name: value}
    with pytest.raises(ValueError, match=rf"^{name} must be an integer >= 1"):
        b.n(**params)


def test_missing_and_unknown_parameters():
    b = theory.get("hoeffding")
    with pytest.raises(ValueError, match="needs parameter 'delta'"):
        b.n(eps=0.1)
    with pytest.raises(ValueError, match="unknown parameter 'dleta'"):
        b.n(eps=0.1, dleta=0.05)
    with pytest.raises(ValueError, match=r"C must be a real number in \(0, inf\)"):
        theory.get("paper.linear-classification").n(eps=0.1, d=3, C=-1)


def test_bad_n_for_inverse():
    with pytest.raises(ValueError, match=r"^n must be a real number in \(0, inf\)"):
        theory.get("hoeffding").eps_at(float("nan"), delta=0.05)


def test_unknown_id_lists_known_ids():
    with pytest.raises(ValueError, match=r"known ids: paper\.text-generation, .*hoeffding"):
        theory.get("no-such-bound")
