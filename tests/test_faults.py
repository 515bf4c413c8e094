"""Faults a long run meets: a run too large for the device, damaged files, two processes on one run, kills at any
moment, group-readable files, and extreme numbers typed on the command line."""

import dataclasses
import json
import math
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_simulations import tiny
from wandb_offline import offline_runs

import iclverify.report  # noqa: F401  (at collection: its first import inside a capsys test closed pytest's own
from iclverify.cli import INPUT_ERRORS, build_parser, main, simulation_config  # capture file; not traced further)
from simulations import memory, run, tracking
from simulations.files import FAULT, atomic, locked, write_checked, write_json, write_npz
from simulations.run import simulate
from simulations.train import previous_path

ROOT = Path(__file__).parents[1]


def quick():
    """A tiny run that trains, checkpoints and writes its curves: one seed, no fine-tuning (the slowest stage)."""
    cfg = tiny("tokens")
    return dataclasses.replace(
        cfg, train=dataclasses.replace(cfg.train, seeds=1), eval=dataclasses.replace(cfg.eval, finetune_tasks=0)
    )


def _config_file(tmp_path: Path, cfg) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg.to_dict()))
    return path


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err and "Traceback" not in err, err
    return err


# ---- memory ------------------------------------------------------------------------------------------------------
def test_a_run_that_does_not_fit_is_refused_before_training(tmp_path, monkeypatch, capsys):
    """The estimate read from the traced programs is above XLA's compiled size at every stage; a device with a byte
    less than the largest compiled stage refuses the run in one line (exit 2) naming the fields that lower it, and
    nothing is trained; with exactly that much, the run is let through."""
    cfg = quick()
    estimates, compiled = memory.estimates(cfg), memory.stages(cfg)
    assert estimates.keys() == compiled.keys()
    for stage in compiled:
        assert estimates[stage] >= compiled[stage] > 0, stage
    peak = max(compiled.values())
    monkeypatch.setenv(memory.CHECK_ENV, "on")
    monkeypatch.setattr(memory, "stages", lambda c: compiled if c == cfg else None)  # compiled once, above
    assert memory.check(cfg, free=peak).startswith("memory: compiled,")
    monkeypatch.setattr(memory, "device_memory", lambda: (peak - 1, "a test device"))
    out = tmp_path / "run"
    assert main(["simulate", "--config", str(_config_file(tmp_path, cfg)), "--out", str(out), "--quiet"]) == 2
    err = _one_line(capsys)
    stage = max(compiled, key=compiled.get)
    assert f"for its {stage}" in err and "a test device" in err and memory.KNOBS[stage].split(",")[0] in err
    assert not (out / "checkpoint.eqx").exists()


def test_out_of_memory_while_running_is_one_line(tmp_path, monkeypatch, capsys):
    def refused(*args, **kwargs):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 51539607552 bytes.")

    monkeypatch.setattr(run, "train", refused)
    cfg = tiny("tokens")
    assert main(["simulate", "--config", str(_config_file(tmp_path, cfg)), "--out", str(tmp_path / "r")]) == 2
    err = _one_line(capsys)
    assert "ran out of device memory in training" in err and "train.micro_batches" in err


# ---- damaged files -----------------------------------------------------------------------------------------------
def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """The uninterrupted run of `quick()`, every program compiled here (the persistent compilation cache off)."""
    out = tmp_path_factory.mktemp("fresh") / "run"
    jax.config.update("jax_enable_compilation_cache", False)
    try:
        simulate(quick(), out, progress=False)
    finally:
        jax.config.update("jax_enable_compilation_cache", True)
    return out


def test_damaged_checkpoints_and_curves_are_named_and_replaced(tmp_path, monkeypatch, fresh):
    """Killed after its checkpoint at step 20 (of 30; checkpoints at 10, 15 -- the halfway models -- and 20), the
    run's last checkpoint is cut short: it resumes from the one before (step 15), named in run.log. Then every
    checkpoint is damaged: it restarts from step 0. A stored evaluation curve cut short is recomputed. Each time
    metrics.json and errors.npz are those of an uninterrupted run, byte for byte."""
    from simulations import train as T

    cfg = quick()

    def killed_at(step: int):
        def hook(at: int) -> None:
            if at == step:
                raise KeyboardInterrupt  # as a kill would stop it

        return hook

    def same(out: Path) -> None:
        for name in ("metrics.json", "errors.npz"):
            assert (out / name).read_bytes() == (fresh / name).read_bytes(), name

    out = tmp_path / "run"
    monkeypatch.setattr(T, "_fault_hook", killed_at(20))
    with pytest.raises(KeyboardInterrupt):
        simulate(cfg, out, progress=False)
    monkeypatch.setattr(T, "_fault_hook", lambda step: None)
    ckpt = out / "checkpoint.eqx"
    assert previous_path(ckpt).is_file()
    _cut(ckpt)
    simulate(cfg, out, progress=False)
    log = (out / "run.log").read_text()
    assert f"warning: {ckpt} is damaged" in log and "checkpoint-previous.eqx, at step 15" in log
    assert (out / "checkpoint.eqx.damaged").is_file()  # set aside, not rotated into checkpoint-previous.eqx
    same(out)

    # every checkpoint damaged: from step 0; the curve evaluated first cut short: recomputed
    (out / "metrics.json").unlink()
    for path in (ckpt, previous_path(ckpt)):
        _cut(path)
    from simulations import evaluate as E

    real = E._curve

    def dies_at_the_second(cfg, models, family, params, halfway=None):
        if family == 1:
            raise KeyboardInterrupt
        return real(cfg, models, family, params, halfway)

    monkeypatch.setattr(E, "_curve", dies_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        simulate(cfg, out, progress=False)
    monkeypatch.setattr(E, "_curve", real)
    log = (out / "run.log").read_text()
    assert "no readable checkpoint: training restarts from step 0" in log
    _cut(out / "evaluation" / "curve-0.npz")
    simulate(cfg, out, progress=False)
    assert "curve-0.npz is damaged (cut short or altered" in (out / "run.log").read_text()
    same(out)


# ---- one process per run -----------------------------------------------------------------------------------------
HOLD = """
import sys, time
from pathlib import Path
from simulations.files import locked
with locked(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_process_on_a_run_is_refused_naming_the_holder(tmp_path, capsys):
    """While another process holds the run, simulate exits 2 naming its host and pid; once that process is killed
    (its lock left behind, stale), the run is taken over."""
    cfg = tiny("tokens")
    out = tmp_path / "run"
    out.mkdir()
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        argv = ["simulate", "--config", str(_config_file(tmp_path, cfg)), "--out", str(out), "--quiet"]
        assert main(argv) == 2
        err = _one_line(capsys)
        assert f"pid {holder.pid}" in err and "is being run by host" in err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (out / "run.lock").exists()  # stale: the operating system released it with its process
    with locked(out):
        pass


# ---- files a group can share -------------------------------------------------------------------------------------
def test_run_files_follow_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        write_json(tmp_path / "a.json", {"a": 1})
        write_npz(tmp_path / "b.npz", {"b": np.zeros(2)})
        write_checked(tmp_path / "c.eqx", b"payload")
        with locked(tmp_path):
            pass
    finally:
        os.umask(old)
    for name in ("a.json", "b.npz", "c.eqx", "run.holder"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o664, name
    assert not list(tmp_path.glob(".tmp-*"))
    with pytest.raises(RuntimeError), atomic(tmp_path / "d.json") as f:
        f.write(b"half")
        raise RuntimeError
    assert not (tmp_path / "d.json").exists() and not list(tmp_path.glob(".tmp-*"))  # nothing half-written


# ---- tracking ----------------------------------------------------------------------------------------------------
def test_a_tracker_that_cannot_start_is_one_line_before_anything_runs(tmp_path, monkeypatch, capsys):
    """`--track wandb` without W&B installed (a process where importing it fails), or with W&B unable to start
    (not logged in), is one line, exit 2, before anything is trained."""
    out = tmp_path / "run"
    argv = ["simulate", "--config", str(_config_file(tmp_path, quick())), "--out", str(out), "--track", "wandb"]
    code = f"import sys; sys.modules['wandb'] = None; from iclverify.cli import main; sys.exit(main({argv!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.strip() == (
        "iclverify: error: --track wandb needs the wandb package: pip install 'iclverify[track]'"
    )
    assert not out.exists()
    import wandb

    def not_logged_in(**kwargs):
        raise wandb.errors.UsageError("No API key configured. Use `wandb login` to log in.")

    monkeypatch.setattr(wandb, "init", not_logged_in)
    monkeypatch.setattr(memory, "check", lambda cfg: "memory: not checked")
    assert main(argv) == 2 and "W&B could not start run" in _one_line(capsys)
    assert not (out / "checkpoint.eqx").exists()  # nothing trained
    monkeypatch.setenv("WANDB_MODE", "online")  # online, the login is checked before anything starts
    monkeypatch.setattr(wandb, "login", lambda **kwargs: not_logged_in())
    assert main(argv) == 2 and "Use `wandb login` to log in. (or set WANDB_MODE=offline)" in _one_line(capsys)


def test_a_tracker_that_fails_midway_never_stops_the_run(tmp_path, monkeypatch, caplog, fresh):
    """W&B failing while a run goes on is a warning line (run.log, stderr), and the run finishes untracked; tracked,
    a finished run that is reused logs its curves, its figure and its verdict rows (`iclverify rates`)."""
    out = tmp_path / "run"
    argv = ["simulate", "--config", str(_config_file(tmp_path, quick())), "--out", str(out), "--track", "wandb"]
    shutil.copytree(fresh, out)

    def full(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(tracking, "_images", full)
    assert main([*argv, "--quiet"]) == 0
    warning = "tracking stopped (results: OSError: No space left on device): the run goes on untracked"
    assert warning in caplog.text and f"warning: {warning}" in (out / "run.log").read_text()
    assert (out / "metrics.json").read_bytes() == (fresh / "metrics.json").read_bytes()
    monkeypatch.undo()
    assert main([*argv, "--quiet"]) == 0
    (last,) = [r for r in offline_runs(out) if r.run_id][-1:]
    assert {"figures/error_vs_n/path", "curves/table/nrows", "verdicts/nrows"} <= last.logged()


# ---- kills at any moment -----------------------------------------------------------------------------------------
SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from simulations.devices import compilation_cache
from simulations.run import simulate
from test_faults import quick
compilation_cache()
simulate(quick(), {out!r}, progress=False)
"""


def _env(tmp_path: Path, **extra: str) -> dict:
    return (
        os.environ
        | {
            "PYTHONPATH": str(ROOT),
            "ICLVERIFY_XLA_CACHE": str(tmp_path / "xla"),  # restarts load the programs the first process compiled
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        }
        | extra
    )


def test_a_run_killed_at_random_points_ends_as_an_uninterrupted_one(tmp_path, fresh):
    """A run killed again and again -- at a random moment, and in the middle of random file writes (checkpoints
    in training, curves in evaluation, errors.npz and metrics.json at the end: cut to half and left behind) --
    and resumed each time, in new processes that load the programs the first compiled from the persistent cache,
    ends with metrics.json and errors.npz identical to an uninterrupted run's, compiled afresh here."""
    out = tmp_path / "killed"
    script = SCRIPT.format(tests=str(Path(__file__).parent), out=str(out))
    rng = random.Random(0)
    # a random moment (starting, compiling or training), a random checkpoint or curve while it is written, and
    # metrics.json while it is written
    faults = [f"time:{rng.uniform(5.0, 12.0):.1f}", f"write:{rng.randint(3, 7)}", "write:metrics.json"]
    for fault in faults:
        kind, _, value = fault.partition(":")
        env = _env(tmp_path, **({FAULT: fault} if kind == "write" else {}))
        proc = subprocess.Popen([sys.executable, "-c", script], env=env)
        if kind == "time":
            try:
                proc.wait(timeout=float(value))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode in (0, 17, -signal.SIGKILL), fault
    subprocess.run([sys.executable, "-c", script], env=_env(tmp_path), check=True)
    assert any((tmp_path / "xla").iterdir())  # the training step's program at least
    for name in ("metrics.json", "errors.npz"):
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name
    log = (out / "run.log").read_text()
    assert "resumed from the checkpoint at step" in log and not list(out.glob("**/.tmp-*"))


# ---- numbers typed on the command line ---------------------------------------------------------------------------
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**400), 10**400).map(str),
    st.sampled_from(["1e-300", "5e-324", "1e300", "1e309", "1e-400", "1000000000", "nan", "-inf", "0x10", "", "1_0"]),
)
BOUND_FLAGS = ["eps", "delta", "m", "vocab", "length", "dim"]


@settings(max_examples=60)
@given(command=st.sampled_from(["bounds", "audit"]), flag=st.sampled_from(BOUND_FLAGS), value=NUMBERS)
def test_bounds_take_any_number_without_an_internal_error(command, flag, value):
    """Any number for any parameter: a table (valid JSON, no inf or NaN) or one line naming the flag, exit 2."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([command, f"--{flag}={value}", "--json"])
    if status == 2:
        assert len(err.getvalue().strip().splitlines()) == 1 and f"--{flag}" in err.getvalue()
        return
    assert status == 0 and "internal error" not in err.getvalue()

    def no_constant(name):
        raise AssertionError(f"{name} in the JSON of {command} --{flag}={value}")

    rows = json.loads(out.getvalue(), parse_constant=no_constant)
    for row in rows:
        n = row["n"]
        assert n is None or (math.isfinite(n) and n > 0)


SIM_FLAGS = ["n-max", "label-noise", "alpha", "noise-var", "pool", "width", "steps", "lr", "seeds", "eval-tasks"]
SET_FIELDS = ["train.lr", "train.clip", "task.noise_var", "model.width", "eval.tasks", "eval.finetune_lrs", "seed"]


@settings(max_examples=60)
@given(
    flag=st.sampled_from(SIM_FLAGS + [f"set {name}" for name in SET_FIELDS]),
    value=NUMBERS,
    task=st.sampled_from(["classification", "regression"]),
)
def test_simulation_settings_take_any_number_without_an_internal_error(flag, value, task):
    """Any number for a simulation's settings (flags and --set): a valid config or one line naming the setting."""
    option = [f"--set={flag[4:]}={value}"] if flag.startswith("set ") else [f"--{flag}={value}"]
    try:
        cfg = simulation_config(build_parser().parse_args(["simulate", task, "--out", "x", *option]))
    except INPUT_ERRORS as err:
        message = str(err)
        name = flag[4:].split(".")[-1] if flag.startswith("set ") else flag
        assert len(message.splitlines()) == 1
        assert {name, name.replace("-", "_"), f"--{name}"} & set(message.replace(":", " ").replace("'", " ").split())
        return
    for section in (cfg.train, cfg.task, cfg.eval):
        for value in vars(section).values():
            assert not isinstance(value, float) or math.isfinite(value)
