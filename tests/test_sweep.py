"""`iclverify sweep`: a tiny grid on local Ray (2 CPUs) and serially, a killed worker, reruns, bad specs."""

import csv
import json
import shutil

import pytest
from wandb_offline import offline_runs

from iclverify import report as R
from iclverify.cli import main
from simulations import sweep
from simulations.train import FAULT

SPEC = """
task = "tokens"
preset = "quick"

[set]
model = {{ depth = 1, width = 16, heads = 2 }}
train = {{ steps = 20, batch = 8, seeds = 1, warmup = 5, checkpoint_every = 10 }}
task = {{ n_max = 4, families = [[2, 3]] }}
eval = {{ tasks = 8, bootstrap = 50, finetune_tasks = 0, risk_tasks = 8 }}

[axes]
seed = [0, 1]
{axis}
"""


def _spec(tmp_path, axis="model.width = [16, 32]", name="grid.toml"):
    path = tmp_path / name
    path.write_text(SPEC.format(axis=axis))
    return path


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    spec = _spec(tmp)
    assert main(["sweep", str(spec), "--executor", "serial", "--quiet"]) == 0
    return spec, tmp / "grid"


def test_serial_sweep_runs_every_point_and_tabulates(serial):
    _, out = serial
    summary = json.loads((out / "sweep.json").read_text())
    assert [r["status"] for r in summary["runs"]] == ["done"] * 4
    assert [r["axes"] for r in summary["runs"]] == [
        {"seed": s, "model.width": w} for s in (0, 1) for w in (16, 32)
    ]
    with (out / "sweep.csv").open() as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["run", "seed", "model.width", "curve", "method", "n", "mean", "ci_low", "ci_high"]
    assert {r["run"] for r in rows} == {r["run"] for r in summary["runs"]}
    assert {r["curve"] for r in rows} == {"m=2,V=3"} and {"icl", "icl_risk"} <= {r["method"] for r in rows}
    one = [r for r in rows if r["run"] == summary["runs"][0]["run"] and r["method"] == "icl"]
    metrics = json.loads((out / one[0]["run"] / "metrics.json").read_text())
    assert [float(r["mean"]) for r in one] == metrics["curves"][0]["methods"]["icl"]["mean"]


def test_rerun_does_no_work_and_rates_reads_a_sweep(serial, capsys):
    spec, out = serial
    assert main(["sweep", str(spec), "--executor", "serial", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in printed["runs"]] == ["skipped"] * 4
    assert main(["rates", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["run"] for r in rows} == {str(out / r["run"]) for r in printed["runs"]}


@pytest.mark.parametrize(
    "axis, field",
    [
        ("model.colour = [1]", "model.colour"),  # unknown axis
        ("model.width = []", "model.width"),  # empty axis
        ("model.width = [-4]", "width"),  # invalid value
        ("model.width = 16", "model.width"),  # not a list
    ],
)
def test_bad_spec_is_one_line_naming_the_field_exit_2(tmp_path, capsys, axis, field):
    spec = _spec(tmp_path, axis)
    assert main(["sweep", str(spec), "--executor", "serial"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err and "Traceback" not in err
    assert not (tmp_path / "grid").exists()  # nothing ran


def test_ray_sweep_survives_a_killed_worker_and_matches_serial(serial, tmp_path, monkeypatch):
    """On local Ray (2 CPUs) the 4-point grid completes: two points finished earlier (copied from the serial sweep)
    are skipped, the other two run as Ray tasks, and the first worker to checkpoint step 10 exits (the test-only
    fault hook): Ray retries it, the run resumes from its checkpoint, and the table equals the serial one byte for
    byte."""
    ray = pytest.importorskip("ray")
    spec, serial_out = serial
    points = sweep.Spec.load(spec).points()
    for _, cfg in points[1::2]:  # the width-32 runs: done before
        shutil.copytree(serial_out / cfg.hash, tmp_path / "ray" / cfg.hash)
    marker = tmp_path / "killed"
    monkeypatch.setenv(FAULT, f"10:{marker}")  # inherited by the workers of the Ray started below
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    try:
        summary = sweep.run_sweep(sweep.Spec.load(spec), tmp_path / "ray", "ray")
        assert marker.exists()  # a worker was killed after its checkpoint
        assert [r["status"] for r in summary["runs"]] == ["done", "skipped"] * 2
        assert (tmp_path / "ray" / "sweep.csv").read_bytes() == (serial_out / "sweep.csv").read_bytes()
        again = sweep.run_sweep(sweep.Spec.load(spec), tmp_path / "ray", "ray")
        assert [r["status"] for r in again["runs"]] == ["skipped"] * 4
        # the report's path to a cluster (report --address): a run that fails there stops it with its reason
        (_, cfg), (_, other) = points[:2]
        clash = {"clash": (other, tmp_path / "ray" / cfg.hash)}  # a directory holding another run
        with pytest.raises(RuntimeError, match=r"1 simulation\(s\) failed on Ray, first clash: InputError"):
            R._simulate_on_ray(clash, "auto", lambda _: None)
    finally:
        ray.shutdown()


def test_a_failing_run_is_reported_and_the_others_go_on(tmp_path, capsys):
    """One point diverges (a huge learning rate): its status says why, the other run finishes, exit status 1."""
    spec = _spec(tmp_path, "train.lr = [1e30, 1e-3]\ntrain.clip = [1e30]").read_text()
    path = tmp_path / "grid.toml"
    path.write_text(spec.replace("seed = [0, 1]\n", ""))
    assert main(["sweep", str(path), "--executor", "serial", "--json"]) == 1
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert runs[0]["status"] == "failed" and runs[0]["error"].startswith("TrainingDiverged: non-finite loss")
    assert runs[1]["status"] == "done" and "error" not in runs[1]
    assert (tmp_path / "grid" / runs[1]["run"] / "metrics.json").is_file()


def test_two_drivers_at_once_one_killed_match_the_serial_sweep(serial, tmp_path):
    """Two drivers started at once on one sweep (two of its four runs finished earlier) share its runs (each run's
    lock: a run the other driver holds is left to it and waited for at the end); one is killed in the middle of a
    random file write, and the other takes over its run (the lock of a dead process is free) and ends with the
    table of an uninterrupted sweep, byte for byte, every run finished exactly once."""
    import os
    import random
    import subprocess
    import sys
    from pathlib import Path

    spec, serial_out = serial
    out = tmp_path / "grid"
    argv = [sys.executable, "-m", "iclverify", "sweep", str(spec), "--executor", "serial", "--quiet", "--out", str(out)]
    env = os.environ | {"PYTHONPATH": str(Path(__file__).parents[1])}
    for _, cfg in sweep.Spec.load(spec).points()[1::2]:  # the width-32 runs: done before
        shutil.copytree(serial_out / cfg.hash, out / cfg.hash)
    write = random.Random(1).randint(3, 8)  # a checkpoint, curve or metrics.json of the first run it takes
    drivers = [subprocess.Popen(argv, env=env | extra) for extra in ({FAULT: f"write:{write}"}, {})]
    assert [d.wait() for d in drivers] == [17, 0]
    assert (out / "sweep.csv").read_bytes() == (serial_out / "sweep.csv").read_bytes()
    for _, cfg in sweep.Spec.load(spec).points():
        assert (out / cfg.hash / "run.log").read_text().count("finished: metrics.json, errors.npz") == 1, cfg.hash


def test_slurm_sweep_through_submitit_resumes_a_preempted_job(serial, tmp_path, monkeypatch, capsys):
    """`--executor slurm` with the [slurm] table's cluster = "local" (submitit's local executor: the jobs of a
    Slurm job array, run as processes here). Three points finished earlier are skipped; the fourth is one job,
    tracked (W&B, offline), which sends itself SIGUSR2 after its checkpoint at step 10 -- what Slurm sends a job it
    preempts: submitit requeues it, the run resumes from its checkpoint, and the table equals the serial one byte
    for byte. The requeued job continues the same tracked run, with the run's verdict rows."""
    spec, serial_out = serial
    path = tmp_path / "widths.toml"
    path.write_text(spec.read_text() + '\n[slurm]\ncluster = "local"\ntime = 10\ngpus_per_run = 0\ncpus_per_run = 1\n')
    points = sweep.Spec.load(path).points()
    out = tmp_path / "widths"
    for _, cfg in points[1:]:
        shutil.copytree(serial_out / cfg.hash, out / cfg.hash)
    marker = tmp_path / "preempted"
    monkeypatch.setenv(FAULT, f"preempt:10:{marker}")  # inherited by the job's process
    assert main(["sweep", str(path), "--executor", "slurm", "--track", "wandb", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert marker.exists() and [r["status"] for r in printed["runs"]] == ["done"] + ["skipped"] * 3
    assert (out / "sweep.csv").read_bytes() == (serial_out / "sweep.csv").read_bytes()
    run = out / points[0][1].hash
    assert "resumed from the checkpoint at step 10" in (run / "run.log").read_text()
    assert "Caught signal SIGUSR2" in "".join(p.read_text() for p in (out / "slurm").glob("*_log.err"))
    tracked = [r for r in offline_runs(run) if r.run_id]
    assert {r.run_id for r in tracked} == {points[0][1].hash} and len(tracked) == 2
    assert tracked[0].steps("train/loss") == list(range(10)) and tracked[1].steps("train/loss") == list(range(10, 20))
    assert tracked[1].steps("verdicts/nrows") == [20]  # the run's verdict rows, as `iclverify rates` prints them


@pytest.mark.parametrize(
    "table, message",
    [
        ("colour = 1", "[slurm] has no key 'colour'"),
        ("time = 0", "[slurm] time must be an integer >= 1"),
        ('cluster = "moon"', "[slurm] cluster must be 'slurm' or 'local'"),
        ("mem_gb = inf", "[slurm] mem_gb must be a number of GB >= 1"),
        ("", "submits with sbatch, which is not on PATH"),  # no Slurm on this machine
    ],
)
def test_bad_slurm_settings_are_one_line_exit_2(serial, tmp_path, monkeypatch, capsys, table, message):
    spec, _ = serial
    path = tmp_path / "grid.toml"
    path.write_text(spec.read_text() + f"\n[slurm]\n{table}\n")
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, whatever this machine has
    assert main(["sweep", str(path), "--executor", "slurm"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
