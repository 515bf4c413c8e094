"""Imports cost what they use: numpy-only modules load neither JAX nor sympy, and the command line's parser loads
neither for any command but `simulate` (whose shortcut flags are read from the config fields), so that
`iclverify --version` and `--help` answer at once."""

import subprocess
import sys

import pytest

REPORT = ["-v", "report", "--out", "simulate"]
HEAVY = {"jax", "jaxlib", "equinox", "optax", "sympy", "scipy", "matplotlib"}


def _loaded(code: str) -> set[str]:
    probe = f"{code}; import sys; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("code", "allowed"),
    [
        ("import simulations.rates, simulations.records", set()),  # fits and the data contract: numpy alone
        ("import theory.errors, theory.domains", set()),
        # every command but simulate, as main builds its parser (`report --out simulate` is not simulate)
        (f"from iclverify import cli; cli.build_parser(shortcut_flags=cli.command({REPORT}) == 'simulate')", set()),
    ],
)
def test_light_modules_do_not_load_heavy_packages(code, allowed):
    assert _loaded(code) & HEAVY <= allowed


def test_lazy_packages_still_offer_every_public_name():
    import simulations
    import theory

    assert {name for name in simulations.__all__ if not hasattr(simulations, name)} == set()
    assert {name for name in theory.__all__ if not hasattr(theory, name)} == set()
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        theory.nothing  # noqa: B018


def test_a_function_named_like_its_submodule_stays_the_function():
    code = "import theory.catalogue, theory.compare, theory as t; assert all(map(callable, (t.catalogue, t.compare)))"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_command_is_the_first_word_that_is_not_an_option():
    from iclverify.cli import command

    assert command(["-v", "--debug", "simulate", "regression"]) == "simulate"
    assert command(REPORT) == "report" and command(["--version"]) is None
