"""Experiment tracking (`--track wandb`): a run's config, training loss, held-out in-context risk, curves, figures
and verdict rows sent to Weights & Biases (Biewald 2020, https://wandb.ai; `pip install iclverify[track]`).

A run is tracked under its config hash as the W&B run id, with `resume="allow"`: a run that is killed and resumed
from its checkpoint continues the same tracked run, its losses logged from the step it resumed at (training steps
are W&B's steps, so nothing is logged twice). W&B's own settings apply (WANDB_MODE=offline writes the run under
DIR/wandb for a later `wandb sync`; WANDB_PROJECT, WANDB_ENTITY). Tracking only reads a run's numbers, never changes
them; a tracker that cannot start (W&B not installed, not logged in) is one InputError before anything runs, and
one that fails while a run goes on is a warning line, after which the run goes on untracked.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from theory.errors import InputError

KINDS = ("wandb",)
PROJECT = "iclverify"  # W&B's project when WANDB_PROJECT is unset
LOSS_POINTS = 1000  # at most this many logged training steps per run (every k-th step)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tracking:
    """Where runs are tracked: `kind` ('wandb'), the W&B project (None: $WANDB_PROJECT, else 'iclverify'), the
    group its runs belong to (a sweep's or a report's directory name; None: none) and `tables`, a function of a
    finished run's directory returning more tables to log ({name: records}: the command line's verdict rows).
    Picklable when `tables` is a module-level function: sweeps hand it to their workers."""

    kind: str = "wandb"
    group: str | None = None
    project: str | None = None
    tables: Callable[[Path], dict[str, list[dict]]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"track must be one of {', '.join(KINDS)}; got {self.kind!r}")

    def check(self) -> None:
        """InputError (one line) when the tracker's package is missing or, online, no W&B login is configured:
        before any run starts (a sweep's or a report's too), not midway."""
        try:
            import wandb
        except ImportError:
            raise InputError("--track wandb needs the wandb package: pip install 'iclverify[track]'") from None
        if os.environ.get("WANDB_MODE", "online") in ("offline", "disabled", "dryrun"):
            return
        try:
            logged_in = wandb.login(verify=False)
        except Exception as err:  # W&B's UsageError without a key and no terminal to ask on
            raise InputError(f"--track wandb: {_first_line(err)} (or set WANDB_MODE=offline)") from None
        if not logged_in:
            raise InputError("--track wandb: not logged in to W&B: run `wandb login` (or set WANDB_MODE=offline)")


class Tracker:
    """Receives a run's progress and results; this base sends them nowhere (no tracking)."""

    def train(self, first_step: int, losses: np.ndarray) -> None:
        """Training losses [steps, seeds] of steps first_step, first_step + 1, ..."""

    def results(self, step: int | None, metrics: dict, figures: list[Path], out: Path | None = None) -> None:
        """The run's curves (metrics.json) and figures at `step` (the training steps; None: W&B's next step, for a
        run logged before); with `out` (the finished run's directory) also the tables of Tracking.tables."""

    def rows(self, name: str, rows: list[dict], step: int | None = None) -> None:
        """A table of records (verdict rows, a sweep's table) under `name`."""

    def images(self, paths: list[Path], step: int | None = None) -> None:
        """Figures (PNG files), each under figures/<its stem>."""

    def finish(self, failed: bool = False, preempted: bool = False) -> None:
        """Close the tracked run: finished, failed (an error stopped the run) or preempted (SystemExit: submitit
        requeuing a preempted job)."""

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.finish(failed=kind is not None, preempted=kind is SystemExit)


def start(
    tracking: Tracking | None,
    run_id: str,
    config: dict,
    out: Path,
    *,
    name: str | None = None,
    job_type: str = "simulate",
    warn: Callable[[str], None] = log.warning,
) -> Tracker:
    """The tracker of one run (a no-op Tracker without `tracking`), its files under out/wandb.

    Args:
        tracking: where to track; None tracks nothing.
        run_id: the tracked run's id (a run's config hash): the same id continues the same tracked run.
        config: the run's config (logged once, as W&B's run config).
        out: the run directory (W&B writes out/wandb).
        name: the run's display name (default: run_id).
        job_type: W&B's job type ('simulate', 'sweep', 'report').
        warn: called with one line if tracking fails while the run goes on.

    Raises:
        InputError: the tracker cannot start (not installed, not logged in, a bad W&B setting): one line.
    """
    if tracking is None:
        return Tracker()
    tracking.check()
    return _Wandb(tracking, run_id, config, out, name or run_id, job_type, warn)


class _Wandb(Tracker):
    def __init__(self, tracking, run_id, config, out, name, job_type, warn) -> None:
        import wandb

        self._wandb, self._warn, self._tables = wandb, warn, tracking.tables
        steps = config.get("train", {}).get("steps", LOSS_POINTS)
        self._every = max(1, int(steps) // LOSS_POINTS)  # the stride of logged training steps
        out.mkdir(parents=True, exist_ok=True)
        settings = wandb.Settings(
            silent=True, console="off", x_disable_stats=True, disable_git=True, save_code=False, x_disable_meta=True
        )
        try:
            self._run = wandb.init(
                project=tracking.project or os.environ.get("WANDB_PROJECT") or PROJECT,
                id=run_id,
                name=name,
                group=tracking.group,
                job_type=job_type,
                config=config,
                dir=str(out.resolve()),
                resume="allow",
                reinit="create_new",  # runs tracked side by side in one process (the report's threads)
                settings=settings,
            )
        except Exception as err:  # W&B's errors (not logged in, a bad setting) differ across its versions
            raise InputError(f"--track wandb: W&B could not start run {run_id}: {_first_line(err)}") from None

    def _guard(self, what: str, send: Callable[[], None]) -> None:
        """Send, or on any failure warn once and stop tracking: tracking never stops a run."""
        if self._run is None:
            return
        try:
            send()
        except Exception as err:
            run, self._run = self._run, None
            with contextlib.suppress(Exception):  # close what it can: the failure itself is what gets reported
                run.finish(exit_code=1)
            why = f"{what}: {type(err).__name__}: {_first_line(err)}"
            self._warn(f"tracking stopped ({why}): the run goes on untracked")

    def train(self, first_step: int, losses: np.ndarray) -> None:
        def send() -> None:
            for i in range(losses.shape[0]):
                step = first_step + i
                if step % self._every:
                    continue
                row = {"train/loss": float(losses[i].mean())}
                if losses.shape[1] > 1:
                    row |= {f"train/loss_seed{s}": float(v) for s, v in enumerate(losses[i])}
                self._run.log(row, step=step)

        self._guard("training loss", send)

    def results(self, step: int | None, metrics: dict, figures: list[Path], out: Path | None = None) -> None:
        from simulations.records import HALFWAY, curve_key, halfway

        def send() -> None:
            wandb, row, table = self._wandb, {}, []
            for curve in metrics["curves"]:
                key, methods = curve_key(curve["params"]), curve["methods"]
                for method, values in methods.items():
                    ns = values.get("n_examples", metrics["n_examples"])
                    table += [[key, method, n, *(values[k][i] for k in STATS)] for i, n in enumerate(ns)]
                    row[f"at_n_max/{key}/{method}"] = values["mean"][-1]
                # held-out in-context risk at half and at the whole training budget (the training-budget check)
                for stage, method in ((HALFWAY, halfway("icl_risk")), ("final", "icl_risk")):
                    if method in methods:
                        row[f"held_out_risk/{key}/{stage}"] = methods[method]["mean"][-1]
                shown = [m for m in methods if "n_examples" not in methods[m]]
                row[f"curves/{key}"] = wandb.plot.line_series(
                    xs=metrics["n_examples"],
                    ys=[methods[m]["mean"] for m in shown],
                    keys=shown,
                    title=f"{metrics['metric']} vs N ({key})",
                    xname="N (in-context examples)",
                )
            row["curves/table"] = wandb.Table(columns=["curve", "method", "n", *STATS], data=table)
            row |= _images(wandb, figures)
            if out is not None and self._tables is not None:
                row |= {name: _table(wandb, rows) for name, rows in self._tables(out).items()}
            self._run.log(row, step=step)

        self._guard("results", send)

    def rows(self, name: str, rows: list[dict], step: int | None = None) -> None:
        def send() -> None:
            self._run.log({name: _table(self._wandb, rows)}, step=step)

        self._guard(name, send)

    def images(self, paths: list[Path], step: int | None = None) -> None:
        self._guard("figures", lambda: self._run.log(_images(self._wandb, paths), step=step))

    def finish(self, failed: bool = False, preempted: bool = False) -> None:
        run = self._run
        if run is None:
            return
        if preempted:
            self._guard("marking the run preempted", run.mark_preempting)
        self._guard("finishing", lambda: run.finish(exit_code=1 if failed else 0))
        self._run = None


STATS = ("mean", "ci_low", "ci_high")


def _images(wandb, paths: list[Path]) -> dict:
    return {f"figures/{p.stem}": wandb.Image(str(p)) for p in paths if p.is_file()}


def _table(wandb, rows: list[dict]):
    """Records as a W&B table, one column per key (in first-seen order)."""
    columns = list(dict.fromkeys(k for r in rows for k in r)) or ["empty"]
    return wandb.Table(columns=columns, data=[[_cell(r.get(c)) for c in columns] for r in rows])


def _cell(value: object) -> object:
    """A table cell W&B accepts: numbers and strings as they are, anything else as JSON."""
    return value if isinstance(value, int | float | str | bool) or value is None else json.dumps(value, default=str)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
