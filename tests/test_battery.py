"""The property battery passes on every catalogue bound and catches every planted mutant."""

import dataclasses

import pytest
import sympy as sp

import theory
from theory.symbols import delta, eps
from theory.testing import PROPERTIES, BoundCheckError, check_bound, partners

HOEFFDING = theory.get("hoeffding")


@pytest.mark.parametrize("bound", theory.catalogue(), ids=lambda b: b.id)
def test_catalogue_bound_passes_battery(bound):
    check_bound(bound)


def mutant(**changes) -> theory.Bound:
    return dataclasses.replace(HOEFFDING, id="mutant", derive=None, **changes)


def caught(bound, prop, against=None):
    with pytest.raises(BoundCheckError, match=rf"\[{prop}\]") as info:
        check_bound(bound, only=[prop], against=against)
    return str(info.value)


def test_wrong_monotone_direction_is_caught():
    m = mutant(expr=sp.log(2 / delta) * eps / 2, directions={})  # grows with eps
    message = caught(m, "monotone")
    assert "must not increase as eps grows" in message


def test_declared_direction_is_what_is_checked():
    m = mutant(directions={"delta": +1})  # Hoeffding falls in delta; declaring +1 must fail
    assert "must not decrease as delta grows" in caught(m, "monotone")


def test_eps_exponent_contradicting_order_is_caught():
    m = mutant(expr=sp.log(2 / delta) / (2 * eps))  # ~ 1/eps, declared Theta(log(1/delta)/eps^2)
    assert "as eps goes" in caught(m, "order")
    # ... and a faster growth than a declared O(.) as well
    m = mutant(expr=sp.log(2 / delta) / (2 * eps**3), order="O")
    caught(m, "order")


def test_delta_exponent_contradicting_order_is_caught():
    m = mutant(expr=sp.log(2 / delta) ** 2 / (2 * eps**2))
    assert "as delta goes" in caught(m, "order")


def test_lower_bound_above_upper_is_caught():
    lower = mutant(kind="lower", expr=10 * sp.log(2 / delta) / eps**2, order="Omega")
    assert partners(lower, [HOEFFDING]) == [HOEFFDING]
    message = caught(lower, "lower-le-upper", against=[HOEFFDING])
    assert "exceeds upper hoeffding" in message


def test_non_round_trip_inverse_is_caught():
    class BrokenInverse(theory.Bound):
        def eps_at(self, n, **params):
            return super().eps_at(n, **params) * 1.01

    broken = BrokenInverse(**{f.name: getattr(HOEFFDING, f.name) for f in dataclasses.fields(HOEFFDING)})
    assert "eps_at(n(eps))" in caught(broken, "round-trip")


def test_numeric_disagreeing_with_sympy_is_caught():
    class WrongNumeric(theory.Bound):
        def n(self, **params):
            return super().n(**params) * (1 + 1e-6)

    wrong = WrongNumeric(**{f.name: getattr(HOEFFDING, f.name) for f in dataclasses.fields(HOEFFDING)})
    caught(wrong, "exact")


def test_accepting_invalid_input_is_caught():
    class Lax(theory.Bound):
        def n(self, **params):
            return float(params.get("eps", 0.1) != 0) + 1.0  # no validation at all

    lax = Lax(**{f.name: getattr(HOEFFDING, f.name) for f in dataclasses.fields(HOEFFDING)})
    assert "outside its domain" in caught(lax, "rejects-invalid")


def test_nonpositive_bound_is_caught():
    m = mutant(expr=sp.log(delta) / (2 * eps**2))  # negative: ln(delta) < 0
    caught(m, "finite-positive")


def test_unknown_property_is_rejected():
    with pytest.raises(ValueError, match="unknown property"):
        check_bound(HOEFFDING, only=["nope"])
    assert {p.name for p in PROPERTIES} >= {
        "finite-positive",
        "monotone",
        "order",
        "round-trip",
        "exact",
        "rejects-invalid",
        "lower-le-upper",
    }


def test_catalogue_has_a_checked_lower_upper_pair():
    assert theory.get("vc.blumer") in partners(theory.get("vc.ehkv-lower"), theory.catalogue())


def test_importing_the_battery_leaves_a_users_profiles_alone():
    """theory.testing registers its profiles under its own names (iclverify-ci, iclverify-thorough) and loads none
    on import: a user's own `ci` profile, and the settings in force, are untouched until load_profile is called."""
    import os
    import subprocess
    import sys

    code = (
        "from hypothesis import settings\n"
        "settings.register_profile('ci', max_examples=7); settings.load_profile('ci')\n"
        "suppressed = settings.default.suppress_health_check\n"
        "import theory.testing as T\n"
        "assert settings.get_profile('ci').max_examples == 7 and settings.default.max_examples == 7\n"
        "assert settings.default.suppress_health_check == suppressed\n"
        "assert T.load_profile('ci') == 'ci' and settings.default.max_examples == 30\n"
        "assert settings.get_profile('ci').max_examples == 7\n"
    )
    # Hypothesis loads its own `ci` profile (suppressing too_slow) when a CI variable is set: run both ways.
    local = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS", "GITLAB_CI")}
    for env in (local, {**local, "CI": "true"}):
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
