"""The command line: JSON at the defaults, derivations, audit, and one-line errors with exit status 2."""

import json
import math
import subprocess
import sys

import pytest

from iclverify.cli import main

ln = math.log


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bounds_json_defaults(capsys):
    code, out, _ = run(capsys, "bounds", "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    for r in rows.values():
        assert set(r) >= {"id", "title", "kind", "source", "metric", "n", "order", "latex", "citation"}
    eps, delta, m, V, L, d = 0.05, 0.05, 100, 50000, 100, 768
    expected = {
        "paper.text-generation": m * V / eps**2 * ln(m / delta),
        "paper.text-generation-bounded": L * ln(V) / eps**2 * ln(1 / delta),
        "paper.linear-classification": d / eps,
        "paper.linear-classification-fixed": ln(1 / delta) / eps**2,
        "hoeffding": ln(2 / delta) / (2 * eps**2),
        "tv.bretagnolle-huber-carol": (V * ln(2) - ln(delta)) / (2 * eps**2),  # 2^-V below double precision
        "tv.expectation-mcdiarmid": max(V / eps**2, 2 * ln(1 / delta) / eps**2),
        "text-generation.union": m * (V * ln(2) + ln(m / delta)) / (2 * eps**2),
        "linf.dkw": 2 * ln(2 / delta) / eps**2,
        "finite-class.realizable": (L * ln(V) + ln(1 / delta)) / eps,
        "finite-class.agnostic": 2 * (L * ln(V) + ln(2 / delta)) / eps**2,
        "vc.blumer": max(4 / eps * math.log2(2 / delta), 8 * d / eps * math.log2(13 / eps)),
    }
    for bound_id, value in expected.items():
        assert rows[bound_id]["n"] == pytest.approx(value, rel=1e-12), bound_id
    assert rows["vc.ehkv-lower"]["n"] is None and "delta <= 1/100" in rows["vc.ehkv-lower"]["note"]


def test_bounds_table(capsys):
    code, out, _ = run(capsys, "bounds", "--eps", "0.1", "--delta", "0.005")
    assert code == 0 and "vc.ehkv-lower" in out and "hoeffding" in out


def test_derive_json(capsys):
    code, out, _ = run(capsys, "derive", "text-generation.union", "--json")
    data = json.loads(out)
    assert code == 0 and data["id"] == "text-generation.union" and data["passed"] is True
    assert data["steps"] and all(s["passed"] is True and s["latex"] and s["claim"] for s in data["steps"])
    statuses = [s["status"] for s in data["steps"]]
    assert data["counts"] == {k: statuses.count(k) for k in ("checked", "numeric", "quoted")}
    assert data["counts"]["checked"] >= 3 and data["counts"]["numeric"] >= 1


def test_audit_json(capsys):
    code, out, _ = run(capsys, "audit", "--json")
    assert code == 0
    assert [e["id"] for e in json.loads(out)] == [
        "paper.text-generation",
        "paper.text-generation-bounded",
        "paper.linear-classification",
        "paper.linear-classification-fixed",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["bounds", "--eps", "0"],
        ["bounds", "--eps", "1"],
        ["bounds", "--delta", "nan"],
        ["bounds", "--delta", "inf"],
        ["bounds", "--eps", "abc"],
        ["bounds", "--m", "0"],
        ["bounds", "--vocab", "2.5"],
        ["bounds", "--length", "-1"],
        ["bounds", "--dim", "x"],
        ["audit", "--m", "1.5"],
        ["derive", "nope"],
        ["bounds", "--bogus"],
        [],
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("iclverify: error:")


def test_error_names_flag_and_range(capsys):
    _, _, err = run(capsys, "bounds", "--vocab", "0")
    assert "--vocab" in err and "integer >= 1" in err
    _, _, err = run(capsys, "derive", "nope")
    assert "known ids:" in err and "hoeffding" in err


def test_module_entry_point_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "iclverify", "bounds", "--eps", "2"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    proc = subprocess.run([sys.executable, "-m", "iclverify", "bounds", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) >= 13


def test_internal_error_exits_1_and_debug_shows_the_traceback(capsys, monkeypatch):
    """A bug -- here a ValueError from deep inside a library, not an InputError -- is not the user's fault: exit 1
    with a one-line summary pointing at --debug; --debug lets the traceback through."""
    from iclverify import cli

    def broken(args):
        raise ValueError("shapes (3,) and (4,) not aligned")

    monkeypatch.setattr(cli, "cmd_bounds", broken)
    code, out, err = run(capsys, "bounds")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "internal error: ValueError: shapes (3,) and (4,) not aligned" in err and "--debug" in err
    with pytest.raises(ValueError, match="not aligned"):
        main(["--debug", "bounds"])


BROKEN_PIPE = """
import os, sys
from iclverify.cli import main
read, write = os.pipe()
os.close(read)  # nobody reads: the first write fails with EPIPE, as under `iclverify bounds --json | head -0`
os.dup2(write, sys.stdout.fileno())
rc = main(["bounds", "--json"])
sys.stderr.write(f"rc={rc}\\n")
"""


def test_closed_stdout_is_not_an_error():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", BROKEN_PIPE], capture_output=True, text=True)
    assert proc.returncode == 0 and "rc=0" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_fail_on_counts_only_verdicts_that_test_something(capsys):
    from iclverify.cli import _exit_status
    from iclverify.verdicts import Verdict

    def row(verdict, kind):
        return Verdict("paper.linear-classification", "exponent", kind, {}, verdict, -1.0, (-1.2, -0.8), "<= -1", "r")

    descriptive, real, fine = (
        row("inconsistent", "sanity"),
        row("inconsistent", "falsifiable"),
        row("consistent", "falsifiable"),
    )
    assert _exit_status([descriptive, real], None) == 0  # without the flag the exit status is 0
    assert _exit_status([descriptive, fine], "inconsistent") == 0
    assert _exit_status([fine, real], "inconsistent") == 1
    assert "1 inconsistent verdict" in capsys.readouterr().err


def test_version_has_one_source(capsys):
    import importlib.metadata
    import re
    from pathlib import Path

    import iclverify

    root = Path(__file__).parents[1]
    pyproject = re.search(r'^version = "([^"]+)"', (root / "pyproject.toml").read_text(), re.M).group(1)
    citation = re.search(r"^version: (\S+)", (root / "CITATION.cff").read_text(), re.M).group(1)
    assert iclverify.__version__ == importlib.metadata.version("iclverify") == pyproject == citation
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"iclverify {pyproject}"


def test_verbosity_sets_the_package_loggers(capsys):
    import logging

    for argv, level in ((["-v"], logging.INFO), (["-q"], logging.ERROR), ([], logging.WARNING)):
        assert main([*argv, "bounds", "--json"]) == 0
        assert logging.getLogger("simulations").level == level
    capsys.readouterr()


def test_plot_writes_the_figure_and_rejects_unknown_ids(tmp_path, capsys):
    out = tmp_path / "claim.png"
    assert main(["plot", "paper.linear-classification", "--delta", "0.001", "--dim", "2", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and capsys.readouterr().out.strip() == str(out)
    assert main(["plot", "no.such-bound"]) == 2
    assert "unknown bound id 'no.such-bound'" in capsys.readouterr().err
