"""Sweeps: the runs of a spec's grid, one run directory each, executed one after another or as Ray tasks.

A spec (TOML) names a task, the preset its runs start from, assignments shared by every run and the axes to sweep;
keys are the `section.field` names of `--set` (RunConfig.assign), written dotted or quoted::

    task = "classification"
    preset = "quick"            # optional (default quick)

    [set]                       # optional: every run
    train.steps = 400

    [axes]                      # the grid: every combination of these values
    model.width = [32, 64]
    seed = [0, 1]

Each point is one run directory DIR/<config hash> (simulations.run.simulate), so a finished run is skipped and an
interrupted one resumes from its checkpoint. The Ray executor (Moritz et al. 2018; `pip install iclverify[cluster]`)
submits each unfinished run as one task holding a CPU share or one GPU; a worker that dies is retried and its run
resumes from the checkpoint; a run that fails is reported and the others go on. DIR/sweep.csv aggregates every
finished run: one row per run x curve x N x method (mean and its interval) with the axis values as columns.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import shutil
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from simulations import devices
from simulations.config import RunConfig
from simulations.files import RunLocked, write_json
from simulations.presets import preset
from simulations.records import summaries
from simulations.run import simulate
from simulations.tracking import Tracking
from theory.errors import InputError

try:  # the slurm executor's checkpointing hook (the `slurm` extra)
    from submitit.helpers import Checkpointable
except ImportError:
    Checkpointable = None

EXECUTORS = ("ray", "serial", "slurm")


@dataclass(frozen=True)
class Outcome:
    """What became of one run: 'done', 'skipped' (finished earlier) or 'failed', with the error (type: message)."""

    status: Literal["done", "skipped", "failed"]
    error: str | None = None

    def to_dict(self) -> dict:
        return {"status": self.status} | ({"error": self.error} if self.error else {})


def _failed(err: BaseException) -> Outcome:
    return Outcome("failed", f"{type(err).__name__}: {err}")


RETRIES = 3  # times Ray reruns a run whose worker died


@dataclass(frozen=True)
class Spec:
    """A sweep: the runs of `preset(task, base_preset)` with `fixed` applied, at every combination of `axes`.

    Attributes:
        task: the task kind (classification, tokens, regression or a registered one).
        base_preset: the preset every run starts from (quick, full, long; default quick).
        fixed: {'section.field': value} applied to every run (the spec's [set] table; RunConfig.assign names).
        axes: {'section.field' or 'seed': [values]}: one run per combination, in the spec's order (the spec's [axes]
            table); each list non-empty.
        source: where the spec came from (its file; default "spec"), named in error messages.
        slurm: the spec's [slurm] table (Slurm): partition, time, GPUs per run, ... for `--executor slurm`.
    """

    task: str
    base_preset: str = "quick"
    fixed: dict[str, object] = field(default_factory=dict)
    axes: dict[str, list] = field(default_factory=dict)
    source: str = "spec"  # where it came from, for error messages
    slurm: Slurm | None = None  # the [slurm] table: how each run is submitted by --executor slurm

    @classmethod
    def load(cls, path: Path | str) -> Spec:
        """Read and check a TOML spec; an unknown key, an empty or non-list axis is an InputError naming it."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise InputError(f"{path} is not valid TOML: {err}") from None
        unknown = sorted(set(data) - {"task", "preset", "set", "axes", "slurm"})
        if unknown:
            raise InputError(f"{path}: unknown key {unknown[0]!r}; a spec has task, preset, [set], [axes], [slurm]")
        if not isinstance(data.get("task"), str):
            raise InputError(f"{path}: task must be a task kind such as 'classification'; got {data.get('task')!r}")
        fixed, axes = _flat(data.get("set", {})), _flat(data.get("axes", {}))
        slurm = Slurm.from_table(data["slurm"], str(path)) if "slurm" in data else None
        spec = cls(data["task"], data.get("preset", "quick"), fixed, axes, str(path), slurm)
        spec.check()
        return spec

    def check(self) -> None:
        """Every axis non-empty and every point a valid config (each raises an InputError naming the field)."""
        for key, values in self.axes.items():
            if not isinstance(values, list) or not values:
                raise InputError(f"{self.source}: axis {key} must be a non-empty list of values; got {values!r}")
        self.points()

    def points(self) -> list[tuple[dict[str, object], RunConfig]]:
        """(axis values, config) of every point of the grid, in the spec's order."""
        base = preset(self.task, self.base_preset).assign(self.fixed, label=f"{self.source}: set")
        out = []
        for combo in itertools.product(*self.axes.values()):
            values = dict(zip(self.axes, combo, strict=True))
            try:
                out.append((values, base.assign(values, label=f"{self.source}: axis")))
            except InputError as err:
                shown = ", ".join(f"{k} = {v!r}" for k, v in values.items())
                raise InputError(f"{self.source}: the point {shown}: {err}") from None
        return out


def _flat(table: dict, prefix: str = "") -> dict[str, object]:
    """{'model': {'width': [32]}} and {'model.width': [32]} -> {'model.width': [32]}."""
    if not isinstance(table, dict):
        raise InputError(f"[{prefix or 'set/axes'}] must be a table of section.field = value")
    out = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        out |= _flat(value, f"{name}.") if isinstance(value, dict) else {name: value}
    return out


@dataclass(frozen=True)
class Slurm:
    """How `--executor slurm` submits a sweep's runs (the spec's [slurm] table), one Slurm job per run, through
    submitit (https://github.com/facebookincubator/submitit; `pip install iclverify[slurm]`).

    Attributes:
        partition, account, qos, constraint: Slurm's own options of those names (None: the cluster's default).
        time: minutes per job (Slurm's --time), an integer >= 1; a run that times out is requeued and resumes
            from its checkpoint, at most `max_requeues` times.
        gpus_per_run: GPUs per job (0: none), cpus_per_run: CPUs per job, mem_gb: memory per job (None: default).
        array_parallelism: the most jobs of the sweep's job array running at once (Slurm's %N).
        max_requeues: times a job that ran out of `time` is requeued (a preempted job always is).
        setup: shell lines run before each job (`module load ...`, activating an environment).
        cluster: 'slurm', or 'local' to run the same jobs as processes on this machine (submitit's local
            executor: try a spec, or preemption, before a cluster). Locally every job starts at once
            (array_parallelism, cpus_per_run and mem_gb are Slurm's to enforce): keep such a sweep small.
    """

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    time: int = 240
    gpus_per_run: int = 1
    cpus_per_run: int = 4
    mem_gb: float | None = None
    array_parallelism: int = 64
    max_requeues: int = 3
    setup: tuple[str, ...] = ()
    cluster: str = "slurm"

    @classmethod
    def from_table(cls, table: object, source: str = "spec") -> Slurm:
        """The [slurm] table, checked: an unknown key or a value out of range is an InputError naming it."""
        if not isinstance(table, dict):
            raise InputError(f"{source}: [slurm] must be a table of key = value")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - names)
        if unknown:
            raise InputError(f"{source}: [slurm] has no key {unknown[0]!r}; its keys are {', '.join(sorted(names))}")
        values = dict(table)
        if "setup" in values:
            setup = values["setup"]
            if not isinstance(setup, list) or not all(isinstance(line, str) for line in setup):
                raise InputError(f"{source}: [slurm] setup must be a list of shell lines; got {setup!r}")
            values["setup"] = tuple(setup)
        slurm = cls(**values)
        slurm.check(source)
        return slurm

    def check(self, source: str = "spec") -> None:
        minimum = {"time": 1, "gpus_per_run": 0, "cpus_per_run": 1, "array_parallelism": 1, "max_requeues": 0}
        for name, low in minimum.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise InputError(f"{source}: [slurm] {name} must be an integer >= {low}; got {value!r}")
        for name in ("partition", "account", "qos", "constraint"):
            if not isinstance(getattr(self, name), str | None):
                raise InputError(f"{source}: [slurm] {name} must be a string; got {getattr(self, name)!r}")
        mem = self.mem_gb
        if mem is not None and (isinstance(mem, bool) or not isinstance(mem, int | float) or not 1 <= mem < 1e9):
            raise InputError(f"{source}: [slurm] mem_gb must be a number of GB >= 1; got {mem!r}")
        if self.cluster not in ("slurm", "local"):
            raise InputError(f"{source}: [slurm] cluster must be 'slurm' or 'local'; got {self.cluster!r}")

    def parameters(self) -> dict:
        """submitit.AutoExecutor.update_parameters keywords (the slurm_* ones apply on Slurm only)."""
        out = {"timeout_min": self.time, "cpus_per_task": self.cpus_per_run}
        out |= {"gpus_per_node": self.gpus_per_run} if self.gpus_per_run else {}  # no --gpus-per-node=0 line
        out |= {"mem_gb": self.mem_gb} if self.mem_gb is not None else {}
        slurm = {"partition": self.partition, "account": self.account, "qos": self.qos, "constraint": self.constraint}
        out |= {f"slurm_{k}": v for k, v in slurm.items() if v is not None}
        out |= {"slurm_array_parallelism": self.array_parallelism}
        return out | ({f"{self.cluster}_setup": list(self.setup)} if self.setup else {})


# ---- execution -----------------------------------------------------------------------------------------------
def finished(cfg: RunConfig, path: Path) -> bool:
    """Whether `path` holds this run, finished (its metrics.json, written last, names the config hash)."""
    metrics = path / "metrics.json"
    try:
        return metrics.is_file() and json.loads(metrics.read_text()).get("config_hash") == cfg.hash
    except json.JSONDecodeError:  # damaged: simulate says so and evaluates again
        return False


def _run(config: dict, path: str, wait: bool = True, track: Tracking | None = None) -> float:
    """One run from its config (as to_dict writes it): simulate, resuming from the checkpoint; its wall time. A run
    another process holds (another sweep driver's) is waited for (`wait`), or raises RunLocked."""
    t0 = time.perf_counter()
    devices.compilation_cache()  # a worker process of its own: share the compiled programs of earlier runs
    simulate(RunConfig.from_dict(config), path, progress=False, wait=wait, track=track)
    return time.perf_counter() - t0


def execute(
    jobs: dict[str, tuple[RunConfig, Path]],
    executor: str = "serial",
    *,
    address: str | None = None,
    max_concurrent: int | None = None,
    say: Callable[[str], None] = lambda _: None,
    track: Tracking | None = None,
    slurm: Slurm | None = None,
    folder: Path | None = None,
) -> dict[str, Outcome]:
    """Run every job {name: (config, directory)} not yet finished; each one's Outcome.

    'serial' runs them here one after another; 'ray' submits each as a Ray task to the cluster at `address`
    (None: a local Ray started on this machine; 'auto': the running one), at most `max_concurrent` at a time;
    'slurm' submits each as one job of a Slurm job array through submitit (`slurm`'s settings), requeued on
    preemption or timeout and resumed from its checkpoint. A failing run is reported in its status and never stops
    the others.

    Args:
        jobs: {name: (config, run directory)}; a directory whose metrics.json names the config's hash is skipped.
        executor: 'serial', 'ray' (needs the `cluster` extra) or 'slurm' (needs the `slurm` extra).
        address: the Ray cluster ('auto' or HOST:PORT); None starts Ray locally. Ray only.
        max_concurrent: the most runs at a time on Ray, an integer >= 1 (None: every job submitted at once, Ray
            scheduling them on the cluster's resources: one GPU, or one CPU without GPUs, per run).
        say: called with one line per event (skipped, started or submitted, done, failed).
        track: track each run (simulations.tracking); None: not tracked.
        slurm: the Slurm settings (default Slurm()). Slurm only.
        folder: where submitit keeps its job files and logs (FOLDER/<job id>_<task>_log.out; default: the first
            run's parent / 'slurm'). Slurm only.

    Returns:
        {name: Outcome}: status 'done', 'skipped' (finished earlier) or 'failed' with its error.

    Raises:
        InputError: an unknown executor, max_concurrent < 1, an address without the ray executor, or an executor
            whose package (or, for Slurm, `sbatch`) is missing (the last two only when some job is unfinished).
    """
    if executor not in EXECUTORS:
        raise InputError(f"executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if max_concurrent is not None and max_concurrent < 1:
        raise InputError(f"max_concurrent must be an integer >= 1; got {max_concurrent}")
    status = {name: Outcome("skipped") for name, (cfg, path) in jobs.items() if finished(cfg, path)}
    todo = {name: job for name, job in jobs.items() if name not in status}
    for name in status:
        say(f"{name}: finished earlier, skipped")
    if not todo:
        return status
    if address is not None and executor != "ray":
        raise InputError(f"--address needs --executor ray (the {executor} executor does not use Ray)")
    if max_concurrent is not None and executor == "slurm":
        raise InputError("--max-concurrent is Ray's; with Slurm set array_parallelism in the spec's [slurm] table")
    if executor == "slurm":
        folder = folder if folder is not None else next(iter(todo.values()))[1].parent / "slurm"
        return status | _slurm(todo, slurm or Slurm(), folder, say=say, track=track)
    if executor == "ray":
        return status | _ray(todo, address=address, max_concurrent=max_concurrent, say=say, track=track)
    return status | _serial(todo, say=say, track=track)


def _serial(jobs, *, say, track) -> dict[str, Outcome]:
    status, held = {}, []

    def one(name: str, wait: bool) -> None:
        cfg, path = jobs[name]
        say(f"{name} (run {cfg.hash}): " + ("waiting for the process that holds it" if wait else "started"))
        try:
            seconds = _run(cfg.to_dict(), str(path), wait=wait, track=track)
        except RunLocked as err:
            held.append(name)
            say(f"{name}: {err}; left to it until the end")
        except Exception as err:  # one failing run must not stop the sweep
            status[name] = _failed(err)
            say(f"{name}: failed: {status[name].error}")
        else:
            status[name] = Outcome("done")
            say(f"{name}: done in {seconds:.0f} s")

    # a run another process holds (a second driver of the same sweep) is left to it and waited for at the end:
    # two drivers share a sweep's runs instead of repeating them
    for name in jobs:
        one(name, wait=False)
    for name in list(held):
        one(name, wait=True)
    return status


def _ray(jobs, *, address, max_concurrent, say, track) -> dict[str, Outcome]:
    try:
        import ray
    except ImportError:
        raise InputError(
            "the ray executor needs Ray: pip install 'iclverify[cluster]' (or use --executor serial)"
        ) from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level="warning")
    gpus = ray.cluster_resources().get("GPU", 0)
    resources = {"num_cpus": 0, "num_gpus": 1} if gpus else {"num_cpus": 1}
    # a dead worker is retried (the run resumes from its checkpoint); an exception of the run itself is not
    task = ray.remote(_run).options(**resources, max_retries=RETRIES, retry_exceptions=False)
    pending, running, status = list(jobs), {}, {}
    limit = max_concurrent or len(jobs) or 1
    while pending or running:
        while pending and len(running) < limit:
            name = pending.pop(0)
            cfg, path = jobs[name]
            say(f"{name} (run {cfg.hash}): submitted")
            running[task.remote(cfg.to_dict(), str(path), True, track)] = name
        ready, _ = ray.wait(list(running), num_returns=1)
        name = running.pop(ready[0])
        try:
            seconds = ray.get(ready[0])
        except Exception as err:  # a failed run (after Ray's retries of a dead worker) is reported, others go on
            status[name] = _failed(getattr(err, "cause", None) or err)  # the run's own error, not Ray's wrapper
            say(f"{name}: failed: {status[name].error}")
        else:
            status[name] = Outcome("done")
            say(f"{name}: done in {seconds:.0f} s")
    return status


class _SlurmRun(Checkpointable if Checkpointable is not None else object):
    """One run as a submitit job. On preemption or timeout submitit calls `checkpoint`, which resubmits the same
    call: the requeued job resumes from the run's own checkpoint on disk (simulations.train), so nothing but the
    call itself needs saving."""

    def __call__(self, config: dict, path: str, track: Tracking | None = None) -> float:
        return _run(config, path, wait=True, track=track)


def _slurm(jobs, settings: Slurm, folder: Path, *, say, track) -> dict[str, Outcome]:
    if Checkpointable is None:
        raise InputError("the slurm executor needs submitit: pip install 'iclverify[slurm]' (or use --executor serial)")
    if settings.cluster == "slurm" and shutil.which("sbatch") is None:
        raise InputError(
            "the slurm executor submits with sbatch, which is not on PATH: run the sweep on the cluster's login "
            'node (or set cluster = "local" in [slurm] to run its jobs as processes here)'
        )
    import submitit

    requeues = {f"{settings.cluster}_max_num_timeout": settings.max_requeues}
    executor = submitit.AutoExecutor(folder=folder, cluster=settings.cluster, **requeues)
    executor.update_parameters(name="iclverify", **settings.parameters())
    names = list(jobs)
    with executor.batch():  # one job array: array_parallelism of its jobs at a time
        submitted = [executor.submit(_SlurmRun(), jobs[n][0].to_dict(), str(jobs[n][1]), track) for n in names]
    for name, job in zip(names, submitted, strict=True):
        say(f"{name} (run {jobs[name][0].hash}): submitted as job {job.job_id} (logs in {folder})")
    status = {}
    for name, job in zip(names, submitted, strict=True):
        try:
            seconds = job.result()
        except Exception as err:  # the job's own error, within submitit's message (the run's traceback, log paths)
            status[name] = Outcome("failed", _job_error(err))
            say(f"{name}: failed: {status[name].error}")
        else:
            status[name] = Outcome("done")
            say(f"{name}: done in {seconds:.0f} s (job {job.job_id})")
    return status


def _job_error(err: BaseException) -> str:
    """The run's own error (its traceback's last line, 'Type: message') from submitit's FailedJobError."""
    lines = [line for line in str(err).splitlines() if re.match(r"^[A-Za-z_][\w.]*: ", line)]
    return lines[-1] if lines else f"{type(err).__name__}: {str(err).strip().splitlines()[0]}"


# ---- a sweep directory ---------------------------------------------------------------------------------------
def run_sweep(
    spec: Spec,
    out: Path | str,
    executor: str = "serial",
    *,
    address: str | None = None,
    max_concurrent: int | None = None,
    say: Callable[[str], None] = lambda _: None,
    track: Tracking | None = None,
) -> dict:
    """Execute the spec's runs in `out` (one directory per config hash) and write out/sweep.json (the points and
    their status) and out/sweep.csv (every finished run's curves); return the sweep.json content.

    Args:
        spec: the sweep (Spec.load reads a TOML file).
        out: the sweep directory (created if missing); each run in out/<config hash>.
        executor: 'serial', 'ray' or 'slurm' (see `execute`; Slurm with the spec's [slurm] settings, submitit's
            files in out/slurm).
        address: the Ray cluster ('auto' or HOST:PORT); None starts Ray locally. Ray only.
        max_concurrent: the most runs at a time on Ray, an integer >= 1 (None: no limit).
        say: called with one line per event (see `execute`).
        track: track each run (simulations.tracking); None: not tracked.

    Returns:
        sweep.json's content: {'spec': {task, preset, set, axes}, 'runs': [{run (config hash), axes (its values),
        status, error (failed runs only)}, ...]}, runs in the spec's order.

    Raises:
        InputError: a point of the grid that is not a valid config (naming it), or bad executor settings (see
            `execute`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    points = spec.points()
    jobs = {cfg.hash: (cfg, out / cfg.hash) for _, cfg in points}
    status = execute(
        jobs,
        executor,
        address=address,
        max_concurrent=max_concurrent,
        say=say,
        track=track,
        slurm=spec.slurm,
        folder=out / "slurm",
    )
    summary = {
        "spec": {"task": spec.task, "preset": spec.base_preset, "set": spec.fixed, "axes": spec.axes},
        "runs": [{"run": cfg.hash, "axes": values} | status[cfg.hash].to_dict() for values, cfg in points],
    }
    write_json(out / "sweep.json", summary)
    write_table(out / "sweep.csv", table(out, summary))
    return summary


def table(out: Path, summary: dict) -> list[dict]:
    """One row per finished run x curve x method x N: the run, its axis values, the curve and the mean error with
    its 95% interval."""
    rows = []
    for entry in summary["runs"]:
        metrics_path = out / entry["run"] / "metrics.json"
        if entry["status"] == "failed" or not metrics_path.is_file():
            continue
        metrics = json.loads(metrics_path.read_text())
        columns = {"run": entry["run"]} | {k: json.dumps(v) for k, v in entry["axes"].items()}
        for curve, method, values in summaries(metrics):
            ns = values.get("n_examples", metrics["n_examples"])
            for i, n in enumerate(ns):
                stats = {k: values[k][i] for k in ("mean", "ci_low", "ci_high")}
                rows.append(columns | {"curve": curve, "method": method, "n": n} | stats)
    return rows


def write_table(path: Path, rows: list[dict]) -> None:
    """The rows as CSV (columns in first-seen order)."""
    columns = list(dict.fromkeys(k for row in rows for k in row)) or ["run"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)


def run_directories(path: Path | str) -> list[Path]:
    """The finished run directories of a sweep directory (one holding sweep.json), in the spec's order; [path]
    itself otherwise."""
    path = Path(path)
    if not (path / "sweep.json").is_file():
        return [path]
    runs = json.loads((path / "sweep.json").read_text())["runs"]
    return [path / r["run"] for r in runs if (path / r["run"] / "metrics.json").is_file()]
