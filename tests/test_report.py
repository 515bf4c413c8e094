"""`iclverify report` and `iclverify rates` end to end, on tiny simulations."""

import dataclasses
import json
import shutil
import time

import numpy as np
import pytest
from wandb_offline import offline_runs

from iclverify import report as R
from iclverify import verdicts as V
from iclverify.cli import main
from simulations import bounded, records
from simulations.config import EvalConfig, ModelConfig, RunConfig, TrainConfig
from simulations.finetune import grid
from simulations.run import load_run
from simulations.tasks import Halfspaces, LinearRegression, NextToken

TINY = dict(
    model=ModelConfig(depth=1, width=16, heads=2),
    train=TrainConfig(steps=20, batch=8, seeds=2, warmup=5, checkpoint_every=10),
    eval=EvalConfig(
        tasks=16,
        bootstrap=50,
        finetune_tasks=4,
        finetune_steps=2,
        risk_tasks=8,
        risk_queries=8,
    ),
)


def _report(out, argv=None):
    configs = {
        "classification": RunConfig(Halfspaces(n_max=8, dims=(2, 3), bayes_chains=5, bayes_steps=5), **TINY),
        "tokens": RunConfig(NextToken(n_max=8, families=((2, 2), (1, 4))), **TINY),
        "regression": RunConfig(LinearRegression(n_max=8, dims=(2, 3)), **TINY),
    }
    length_task = NextToken(n_max=8, families=((2, 4),), train_n_max=4)
    lengths = {
        p: RunConfig(length_task, dataclasses.replace(TINY["model"], positions=p), TINY["train"], TINY["eval"])
        for p in ("rope",)  # the learned-positions run takes the same code path
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            R, "preset_configs", lambda preset, seed: {k: dataclasses.replace(c, seed=seed) for k, c in configs.items()}
        )
        mp.setattr(R, "length_configs", lambda preset, seed: lengths)
        mp.setitem(R.WINDOW, "quick", bounded.WindowConfig(ms=(1, 2), V=4, data=16, tasks=8))
        mp.setitem(R.FIXED, "quick", bounded.FixedConfig(tasks=4, holdout=256, truth=64))
        mp.setitem(R.TRIALS, "quick", 200)
        if argv is not None:  # through the command line
            return main(argv)
        return R.report(out, "quick", progress=False)


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, _report(out)


def test_same_seed_same_verdicts(tiny_report, tmp_path):
    """A second report on the same runs (copied: that training and evaluation repeat to the byte is
    test_simulate_is_deterministic_and_reused's) recomputes coverage, the bounded-context experiments and every fit,
    and gives byte-identical verdicts."""
    out, _ = tiny_report
    for run in ("classification", "tokens", "regression", "length-rope"):
        shutil.copytree(out / run, tmp_path / run)
    _report(tmp_path)
    assert (tmp_path / "verdicts.json").read_bytes() == (out / "verdicts.json").read_bytes()


def test_a_failed_simulation_cancels_the_runs_not_started(monkeypatch, tmp_path):
    """The report's stages wait on the runs they read; the first failure they meet cancels the queued runs
    instead of training every one of them before the error shows."""
    started = []

    def fails(cfg, path, **_):
        started.append(path.name)
        if len(started) > 1:
            time.sleep(1)  # the next queued run starts at once: while it runs, the failure cancels the rest
        raise RuntimeError("the run failed")

    monkeypatch.setattr(R, "simulate", fails)
    cfg = RunConfig(Halfspaces(n_max=8, dims=(2,)), **TINY)
    jobs = {name: (cfg, tmp_path / name) for name in ("tokens", "classification", "regression")}
    with pytest.raises(RuntimeError, match="the run failed"):
        R._simulations(jobs, None, None, R.Clock(), lambda *_: None, 1, lambda done: done("tokens"))
    assert "regression" not in started


def test_report_writes_everything(tiny_report):
    out, rows = tiny_report
    per_run = [f for kind in ("classification", "tokens", "regression") for f in R.task_plot_files(kind).values()]
    shared = [f for name, f in R.PLOT_FILES.items() if name != "diversity"]  # the quick report trains no pools
    for name in ["report.md", "verdicts.json", *shared, *per_run, "regression_double_descent.png"]:
        assert (out / name).is_file(), name
    assert json.loads((out / "verdicts.json").read_text()) == json.loads(json.dumps([r.to_dict() for r in rows]))
    claims = {r.claim for r in rows}
    assert {"paper.linear-classification", "paper.text-generation", "paper.text-generation-bounded"} <= claims
    assert LinearRegression.claim in claims
    assert {"paper.linear-classification-fixed", "hoeffding"} <= claims
    checks = {r.check for r in rows}
    assert {"window scaling in m, random", "window scaling in m, retrieval", "fixed-context coverage"} <= checks
    assert any(c.startswith("length generalization, rope") for c in checks)
    assert (out / "bounded.npz").is_file() and (out / "length-rope" / "metrics.json").is_file()
    # the known results: ridge tracking per regression curve (the pool runs are report --preset standard's)
    known = json.loads((out / "reproductions.json").read_text())
    assert [r["d"] for r in known["ridge_tracking"]] == [2, 3] and known["task_diversity"] == []
    assert all(set(r["distance_over_d"]) == {"ridge", "least_squares"} for r in known["ridge_tracking"])
    assert {r.verdict for r in rows} <= {"consistent", "inconsistent", "inconclusive"}


def test_runs_keep_the_data_contract(tiny_report):
    """Every errors.npz array of a real run has a role and that role's shape (simulations.records), and metrics.json
    summarises the same methods in the same order."""
    out, _ = tiny_report
    for kind in ("classification", "tokens", "regression"):
        run = load_run(out / kind)
        S, n, g = run.cfg.train.seeds, run.cfg.task.n_max + 1, len(grid(run.cfg.task.n_max))
        for curve in run.metrics["curves"]:
            arrays = run.errors.methods(curve["params"])
            assert list(arrays) == list(curve["methods"]), kind
            for method, values in arrays.items():
                role = records.role(method, run.cfg.task.references)
                lead = (S,) if role.per_seed else ()
                assert values.shape[: len(lead)] == lead and values.ndim == len(lead) + 2, (kind, method)
                assert values.shape[-1] == (g if role is records.Role.FINETUNED else n), (kind, method)


def test_report_numbers_are_the_verdicts(tiny_report):
    out, rows = tiny_report
    md = (out / "report.md").read_text()
    for r in rows:
        assert R.fmt_estimate(r) in md, r
    for line in R.verdict_table([r for r in rows if R.section(r) != "coverage"])[2:]:
        assert line in md
    shared = [f for name, f in R.PLOT_FILES.items() if name != "diversity"]
    for image in [*shared, *R.task_plot_files("regression").values(), "regression_double_descent.png"]:
        assert f"]({image})" in md
    # a claim's headline says how many curves are converged (where ICL's ratio to the reference is defined), or
    # names the curves without an estimate among its limits; each simulation's time says its compiling share
    headline = md[md.index("## Headline") : md.index("## Verdicts")]
    claims = [line for line in headline.splitlines() if "ICL's rate in N relative to" in line]
    assert len(claims) == 3
    assert all(f"(converged, within {V.CONVERGED:g}x: " in c or "curve(s) without one)" in c for c in claims)
    assert "- simulation: tokens: " in md and " s compiling)" in md


def test_rates_cli_matches_the_report(tiny_report, capsys):
    out, rows = tiny_report
    assert main(["rates", str(out / "classification"), str(out / "tokens"), str(out / "regression"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    context = ("coverage", "fixed-context", "window", "length")
    sims = [r for r in rows if r.claim != "paper.text-generation-bounded" and not r.check.startswith(context)]
    assert [{k: v for k, v in r.items() if k != "run"} for r in printed] == json.loads(
        json.dumps([r.to_dict() for r in sims])
    )


def test_report_and_rates_reject_bad_input(tmp_path, capsys):
    assert main(["rates", str(tmp_path)]) == 2
    assert "not a finished run directory" in capsys.readouterr().err
    assert main(["report", "--quick", "--full", "--out", str(tmp_path)]) == 2
    assert main(["report", "--out", str(tmp_path), "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 2


def test_importing_simulations_leaves_pyplot_and_the_backend_alone():
    import subprocess
    import sys

    code = (
        "import sys, matplotlib; raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend'); before = raw(); "
        "import simulations, simulations.run; "
        "assert 'matplotlib.pyplot' not in sys.modules; assert raw() == before"
    )
    # (reading rcParams['backend'] directly would itself import pyplot to resolve it: read the raw value)
    subprocess.run([sys.executable, "-c", code], check=True)


def test_report_command_json_and_fail_on(tiny_report, capsys):
    """Rerun through the command line in the same directory (finished runs are reused), tracked (W&B, offline):
    every simulation under its config hash, with its curves, figure and verdict rows, and the report as one more
    tracked run holding every verdict row."""
    out, rows = tiny_report
    rc = _report(out, ["report", "--out", str(out), "--json", "--fail-on", "inconsistent", "--track", "wandb"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["summary"] == V.summary(rows) and printed["out"] == str(out)
    assert rc == (1 if any(r.verdict == "inconsistent" and r.kind == "falsifiable" for r in rows) else 0)
    (report,) = offline_runs(out)
    assert report.run_id.startswith("report-") and report.config["preset"] == "quick"
    assert [row["verdicts/nrows"] for row in report.history if "verdicts/nrows" in row] == [len(rows)]
    assert "figures/icl_vs_finetune/path" in report.logged()
    for name in ("classification", "tokens", "regression", "length-rope"):
        (run,) = offline_runs(out / name)
        assert run.run_id == json.loads((out / name / "config.json").read_text())["config_hash"]
        assert {"curves/table/nrows", "verdicts/nrows", "figures/error_vs_n/path"} <= run.logged()


def test_calibrate_on_a_finished_runs_own_curves(tiny_report, capsys):
    """`iclverify calibrate --run DIR` feeds the run's own reference risks (and its ICL curve slowed) to the rate
    checks: every learner gets a row per check, with frequencies that sum to 1."""
    out, _ = tiny_report
    assert main(["calibrate", "--run", str(out / "tokens"), "--reps", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    learners = {r["learner"] for r in rows}
    assert "reference (seed noise)" in learners and "the run's ICL slowed by N^0.25" in learners
    assert all(r["preset"] == "run tokens" and abs(sum(r["frequencies"].values()) - 1) < 1e-9 for r in rows)
    assert main(["calibrate", "--run", str(out / "nowhere"), "--reps", "1"]) == 2  # one line, exit 2


def test_the_task_diversity_figure_of_merit_from_pool_runs(tiny_report, tmp_path):
    """Raventos et al.'s dPMSE / d, from the arrays evaluation stores (here set by hand: the distances are known),
    through the report's own step that writes reproductions.json and the figure."""
    from simulations.run import Run, load_run

    out, _ = tiny_report
    pools = {}
    for pool, (to_dmmse, to_ridge) in {4: (0.1, 0.8), 256: (0.6, 0.2)}.items():
        cfg = RunConfig(LinearRegression(n_max=4, dims=(2,), pool=pool), **TINY)
        ones = np.ones((2, 3, 5))
        errors = {"d=2/icl_to_dmmse": to_dmmse * ones, "d=2/icl_to_ridge": to_ridge * ones, "d=2/icl": 0.5 * ones}
        errors |= {"d=2/dmmse": 0.7 * ones[0], "d=2/ridge": 0.3 * ones[0]}
        pools[pool] = Run(tmp_path / f"diversity-{pool}", cfg, {}, errors, {})
    known = R._reproductions({"regression": load_run(out / "regression")}, pools, tmp_path)
    rows = known["task_diversity"]
    assert [r["pool"] for r in rows] == [4, 256] and [r["nearer"] for r in rows] == ["dmmse", "ridge"]
    assert rows[0]["distance_over_d"] == pytest.approx({"dmmse": 0.05, "ridge": 0.4})  # / d = 2
    assert rows[1]["error_at_n_max"] == pytest.approx({"icl": 0.5, "dmmse": 0.7, "ridge": 0.3})
    assert (tmp_path / R.PLOT_FILES["diversity"]).is_file()
    assert json.loads((tmp_path / "reproductions.json").read_text())["task_diversity"] == json.loads(json.dumps(rows))
