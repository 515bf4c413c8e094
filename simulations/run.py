"""`simulate`: train (or resume), evaluate and write a run directory.

DIR/run.log (what was done, when, on which device; appended by every call), DIR/config.json, DIR/metrics.json
(deterministic: same config and seed give the same bytes), DIR/errors.npz
(the per-(seed, task) errors behind every mean, keyed like 'd=4/icl'), DIR/timing.json
(wall times, kept apart so metrics stay identical), DIR/checkpoint.eqx and DIR/error_vs_n.png. A run killed in
training resumes from its checkpoint; one killed in evaluation from its finished curves (DIR/evaluation/, removed
once metrics.json is written). A finished run
(metrics.json with the same config hash) is reused, not recomputed; a run written by another version of the code
(config.json records the package version and the evaluation schema) is refused, never silently reused.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jax
import numpy as np

from simulations import compiletime, devices, plots
from simulations.config import RunConfig, code_version
from simulations.evaluate import evaluate, stored_curves
from simulations.files import write_json, write_npz
from simulations.train import init_state, load, train
from theory.symbols import InputError

# matplotlib is not thread-safe (mathtext parsing, the font cache): runs simulated in parallel threads (the report)
# draw their figures one at a time
_PLOT_LOCK = threading.Lock()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """A finished run directory, loaded: its config, metrics and per-unit errors."""

    path: Path
    cfg: RunConfig
    metrics: dict
    errors: dict[str, np.ndarray]
    timing: dict


def check_code(path: Path, stored: dict) -> None:
    """ValueError (one line, both versions) when the run in `path` was written by other code than this one."""
    theirs = {k: stored.get(k, "before versions were recorded") for k in code_version()}
    ours = code_version()
    if theirs != ours:
        raise InputError(
            f"{path} was written by iclverify {theirs['iclverify_version']} (schema {theirs['schema']}); this is "
            f"iclverify {ours['iclverify_version']} (schema {ours['schema']}): its results would not be what this "
            "code computes; remove the directory (or choose another --out) to recompute"
        )


def load_run(path: Path | str) -> Run:
    """Load a finished run (one with metrics.json) written by this code; ValueError naming the directory otherwise.

    Args:
        path: a run directory written by `simulate` (str or Path).

    Returns:
        The Run: its `path`, `cfg` (RunConfig, from config.json), `metrics` (metrics.json), `errors` (errors.npz,
        the per-unit errors keyed like 'd=4/icl': [seeds, tasks, N] for the model and fine-tuning, [tasks, N] for
        baselines) and `timing` (timing.json; {} when absent).

    Raises:
        InputError: not a finished run directory (no metrics.json and errors.npz), or one written by an
            incompatible version of the code (another package version or evaluation schema); a ValueError subclass.
    """
    path = Path(path)
    if not (path / "metrics.json").is_file() or not (path / "errors.npz").is_file():
        raise InputError(f"{path} is not a finished run directory (no metrics.json and errors.npz)")
    stored = json.loads((path / "config.json").read_text())
    check_code(path, stored)
    cfg = RunConfig.from_dict(stored)
    with np.load(path / "errors.npz") as npz:
        errors = {k: npz[k] for k in npz.files}
    timing_path = path / "timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
    return Run(path, cfg, json.loads((path / "metrics.json").read_text()), errors, timing)


def load_models(run: Run):
    """The trained models of a finished run (stacked over seeds), from its checkpoint."""
    return load(run.path / "checkpoint.eqx", init_state(run.cfg)).models


def simulate(cfg: RunConfig, out: Path | str, *, progress: bool = True) -> dict:
    """Run (or reuse) the simulation described by `cfg` in directory `out`; return the metrics. On several hosts
    (JAX_COORDINATOR_ADDRESS set) JAX's distributed runtime is started first (simulations.devices.initialize).

    Args:
        cfg: the run (task, model, training, evaluation, seed); its `hash` identifies the run.
        out: its directory (created if missing): config.json, checkpoint.eqx, metrics.json, errors.npz,
            timing.json, run.log and error_vs_n.png. A directory holding the same config is reused (finished) or
            resumed (from its last checkpoint and its finished evaluation curves).
        progress: show progress bars (only where a terminal is attached).

    Returns:
        The metrics (metrics.json): task, config_hash, metric, n_examples (0, ..., n_max), curves (one per
        task-parameter value: {'params': ..., 'methods': {name: {mean, ci_low, ci_high}}}, the mean error over
        seeds and tasks at every N with its 95% two-stage bootstrap interval) and train_loss (the mean over seeds,
        at about 100 evenly spaced steps).

    Raises:
        InputError: `out` holds another run (another config hash), or one written by an incompatible version of
            the code.
        TrainingDiverged: a non-finite training loss (simulations.train; the last good checkpoint is kept).
    """
    devices.initialize()  # before any computation: a no-op on one host
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config_path, metrics_path = out / "config.json", out / "metrics.json"
    if config_path.exists():
        stored = json.loads(config_path.read_text())
        check_code(out, stored)
        existing = RunConfig.from_dict(stored)
        if existing.hash != cfg.hash:
            raise InputError(
                f"--out {out} holds another run (config {existing.hash}, this one {cfg.hash}); choose another directory"
            )
        if metrics_path.exists():
            note(out, f"run {cfg.hash} already finished: metrics.json reused")
            return json.loads(metrics_path.read_text())
    write_json(config_path, cfg.to_dict() | {"config_hash": cfg.hash} | code_version())
    on = ", ".join(str(d) for d in jax.devices())
    note(out, f"run {cfg.hash} ({cfg.task.kind}, iclverify {code_version()['iclverify_version']}) on {on}")
    t0, c0 = time.perf_counter(), compiletime.seconds()
    state = train(cfg, out / "checkpoint.eqx", progress=progress)
    t1, c1 = time.perf_counter(), compiletime.seconds()
    start = f"resumed from the checkpoint at step {state.resumed_from}" if state.resumed_from else "from step 0"
    note(out, f"trained {cfg.train.seeds} seed(s) to step {state.step} ({start}) in {t1 - t0:.1f} s")
    stored = len(stored_curves(out / "evaluation"))
    curves, errors = evaluate(cfg, state.models, progress=progress, store=out / "evaluation", halfway=state.halfway)
    t2, c2 = time.perf_counter(), compiletime.seconds()
    read = f", {stored} read back from an interrupted evaluation" if stored else ""
    note(out, f"evaluated {len(curves)} curve(s){read} in {t2 - t1:.1f} s")
    every = max(1, cfg.train.steps // 100)
    metrics = {
        "task": cfg.task.kind,
        "config_hash": cfg.hash,
        "metric": cfg.task.metric,
        "n_examples": list(range(cfg.task.n_max + 1)),
        "curves": curves,
        "train_loss": {
            "steps": list(range(0, cfg.train.steps, every)),
            "mean_over_seeds": state.losses[::every].mean(axis=1).tolist(),
        },
    }
    write_npz(out / "errors.npz", errors)
    write_json(metrics_path, metrics)  # last: its presence marks a finished run
    shutil.rmtree(out / "evaluation", ignore_errors=True)  # the finished curves, kept only until now
    timing = {"train_s": t1 - t0, "evaluate_s": t2 - t1, "device": str(jax.devices()[0])}
    timing |= {"train_compile_s": c1 - c0, "evaluate_compile_s": c2 - c1}  # of which compiling (compiletime)
    write_json(out / "timing.json", timing | {"resumed_from_step": state.resumed_from})  # train_s: this call only
    with _PLOT_LOCK:
        plots.error_vs_n(metrics, out / "error_vs_n.png")
    note(out, "finished: metrics.json, errors.npz, timing.json, error_vs_n.png")
    return metrics


def note(out: Path, message: str) -> None:
    """Append a timestamped line to DIR/run.log -- the plain-text account of what was done to a run, kept across
    restarts -- and log it (logger 'simulations.run', level INFO: `iclverify -v` shows it)."""
    log.info("%s: %s", out, message)
    with (out / "run.log").open("a") as f:
        f.write(f"{datetime.now().isoformat(timespec='seconds')} {message}\n")
