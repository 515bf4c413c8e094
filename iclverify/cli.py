"""The `iclverify` command (also `python -m iclverify`).

Exit status: 0 success; 1 an internal error (a bug: one line saying so, the traceback under --debug) or, with
--fail-on inconsistent, an inconsistent falsifiable verdict; 2 bad input (one line naming the parameter and its
valid range, never a traceback). Closing stdout early (`iclverify audit --json | head`) is not an error.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import theory
from iclverify import __version__
from iclverify.tables import DEFAULTS, bound_row, fmt_n
from theory.domains import DOMAINS, MEANING
from theory.errors import InputError

# CLI flag -> (keyword in theory, default); defaults from tables.DEFAULTS (V = 50000, d = 768).
FLAGS = {"eps": "eps", "delta": "delta", "m": "m", "vocab": "V", "length": "l", "dim": "d"}
PARAMS = {flag: (key, f"{DEFAULTS[key]:g}") for flag, key in FLAGS.items()}


DESCRIPTION = """\
Verify the sample-complexity claims of Sharma (2025), "Eliciting Fine-Tuned Transformer Capabilities via
Inference-Time Techniques" (arXiv:2506.08060): every bound encoded symbolically and checked (derivations, an
audit against textbook bounds, a property battery, Monte-Carlo coverage), and small JAX transformers trained to
learn in context, whose measured rates are compared with the bounds.

Typical use: `iclverify bounds`, `iclverify derive paper.text-generation`, `iclverify check`,
`iclverify simulate classification --out runs/cls`, `iclverify rates runs/cls`, `iclverify report --quick`."""


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        raise UsageError(message)


def _add_params(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("parameters")
    for flag, (key, default) in PARAMS.items():
        meaning = f"{MEANING[key]}, {DOMAINS[key].describe()}"
        group.add_argument(f"--{flag}", default=default, metavar=key, help=f"{key}: {meaning} (default {default})")


def _params(args: argparse.Namespace) -> dict[str, float]:
    out = {}
    for flag, (key, _) in PARAMS.items():
        raw = getattr(args, flag)
        try:
            value = float(raw)
        except ValueError:
            value = raw  # let the domain name the parameter and its range
        try:
            out[key] = DOMAINS[key].validate(value).item()
        except ValueError as err:
            raise UsageError(f"--{flag}: {err}") from None
    return out


def cmd_bounds(args: argparse.Namespace) -> int:
    params = _params(args)
    rows = [bound_row(b, params) for b in theory.catalogue()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    shown = ", ".join(f"{k}={v:g}" for k, v in params.items())
    print(f"Sample sizes at {shown}  (n = ceiling of the bound; '*' = unspecified constant set to 1)\n")
    width = max(len(r["id"]) for r in rows)
    print(f"{'id':<{width}}  {'kind':<5}  {'source':<8}  {'n':>18}  order")
    for r in rows:
        star = "*" if "unspecified constant" in r.get("note", "") else " "
        n = fmt_n(r["n"], r.get("n_log10"))
        print(f"{r['id']:<{width}}  {r['kind']:<5}  {r['source']:<8}  {n:>17}{star}  {r['order']}")
    notes = [r for r in rows if r["n"] is None]
    for r in notes:
        print(f"\n- {r['id']}: {r['note']}")
    return 0


def cmd_derive(args: argparse.Namespace) -> int:
    bound = theory.get(args.id)
    derivation = bound.derivation
    if derivation is None:
        note = f"{bound.id} is quoted from its source ({bound.citation}); it is not derived from a tail inequality here"
        if args.json:
            print(json.dumps({"id": bound.id, "steps": [], "passed": None, "counts": None, "note": note}, indent=2))
        else:
            print(note)
        return 0
    print(json.dumps(derivation.to_dict(), indent=2) if args.json else derivation.render())
    return 0 if derivation.passed else 1


def cmd_plot(args: argparse.Namespace) -> int:
    bound = theory.get(args.id)
    against = None if args.against is None else [theory.get(i) for i in args.against]
    fig = theory.plot(bound, against=against, params=_params(args), scaling=args.scaling)
    out = Path(args.out or f"{bound.id}.png")
    fig.savefig(out, dpi=120)
    print(out)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from theory.audit import audit  # sympy: loaded by the commands that use it, not by --version or --help

    params = _params(args)
    entries = audit(**params)
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    print("Audit of the paper's bounds at " + ", ".join(f"{k}={v:g}" for k, v in params.items()) + "\n")
    for e in entries:
        head = fmt_n(e["n"], e.get("n_log10")) if e["n"] is not None or "n_log10" in e else e["note"]
        print(f"{e['id']}  (n = {head}, C = 1)")
        for r in e["references"]:
            value = (
                f"{r['ratio']:.4g} (its n = {fmt_n(r['n'], r.get('n_log10'))})"
                if r["ratio"] is not None
                else f"n/a: {r.get('note', '')}"
            )
            print(f"  vs {r['id']} [{r['role']}]: paper/ref = {value}")
            print(f"     as a function: {r['ratio_function']}")
        for flag in e["flags"]:
            print(f"  ! {flag}")
        print()
    return 0


def _check_mutants(args: argparse.Namespace) -> int:
    """The mutation score: planted mistakes in catalogue bounds, caught or not (exit 1 on a miss or false alarm)."""
    from theory.mutants import suite

    def progress(i: int, total: int, name: str) -> None:
        print(f"[{i}/{total}] {name}", file=sys.stderr, flush=True)

    out = suite(progress)
    bad = out["missed"] or out["false_alarms"] or out["catalogue_false_alarms"]
    if args.json:
        print(json.dumps(out, indent=2))
        return 1 if bad else 0
    print(
        f"mutation score: {out['caught']}/{out['total']} caught; must-catch (false or misdeclared) "
        f"{out['must_catch_caught']}/{out['must_catch']}; false alarms: {len(out['false_alarms'])} on conservative "
        f"variants, {len(out['catalogue_false_alarms'])} on the catalogue"
    )
    for name in out["missed"]:
        print(f"  MISSED {name}")
    for name in out["false_alarms"] + out["catalogue_false_alarms"]:
        print(f"  FALSE ALARM {name}")
    print("survivors:")
    for s in out["survivors"]:
        print(f"  [{s['expected']}] {s['id']}: {s['reason']}")
    return 1 if bad else 0


def cmd_check(args: argparse.Namespace) -> int:
    from theory.montecarlo import check as coverage_check
    from theory.testing import BoundCheckError, check_bound, describe_looseness, load_profile

    load_profile(args.profile)
    if args.mutants:
        return _check_mutants(args)
    bounds = [theory.get(i) for i in args.ids] if args.ids else theory.catalogue()
    results, failed = [], False
    for i, bound in enumerate(bounds, 1):
        print(f"[{i}/{len(bounds)}] {bound.id}", file=sys.stderr, flush=True)
        try:
            report = check_bound(bound)
            battery = {"passed": True, "failures": [], "validity": report.reference, "looseness": report.looseness}
            if report.monte_carlo is not None:
                battery["monte_carlo"] = str(report.monte_carlo)
        except BoundCheckError as err:
            battery = {"passed": False, "failures": str(err).splitlines()[1:]}
        cov = coverage_check(bound.id, trials=args.trials, seed=args.seed)
        failed |= not battery["passed"] or not all(c["passed"] for c in cov)
        results.append({"id": bound.id, "battery": battery, "coverage": cov})
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(f"{r['id']}: property battery {'passed' if r['battery']['passed'] else 'FAILED'}")
            for line in r["battery"]["failures"]:
                print(f"    {line}")
            if r["battery"]["passed"]:
                print(f"  validity: {r['battery']['validity']}")
                if "monte_carlo" in r["battery"]:
                    print(f"  {r['battery']['monte_carlo']}")
                lo = r["battery"]["looseness"]
                if lo:
                    print(f"  looseness: {describe_looseness(lo)}")
            for c in r["coverage"]:
                verdict = "passed" if c["passed"] else "FAILED"
                ratio = c["n_empirical_over_bound"]
                print(
                    f"  coverage [{c['experiment']}] {verdict}: n = {c['n']}, failure rate {c['rate']:.4f} "
                    f"(95% CI {c['ci95'][0]:.4f}-{c['ci95'][1]:.4f}, delta = {c['params']['delta']}, "
                    f"p = {c['p_value']:.3g}); empirical n / bound n = "
                    + ("n/a" if ratio is None else f"{ratio:.3f}")
                    + f"; power against a 2x too small constant {c['power_2x_too_small']:.2f}"
                )
    return 1 if failed else 0


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers >= 1, e.g. 2,4,8; got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers >= 1, e.g. 2,4,8; got {text!r}")
    return values


def _schemes(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(","))
    if not values or any(v not in ("rope", "none") for v in values) or len(set(values)) != len(values):
        what = "a comma-separated list of rope and none, e.g. rope,none"
        raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}")
    return values


def _families(text: str) -> tuple[tuple[int, int], ...]:
    try:
        pairs = tuple(tuple(int(v) for v in item.lower().split("x")) for item in text.split(","))
    except ValueError:
        pairs = ()
    if not pairs or any(len(p) != 2 or p[0] < 1 or p[1] < 2 for p in pairs):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated MxV pairs with m >= 1, V >= 2, e.g. 2x4,4x8; got {text!r}"
        )
    return pairs


def _real(valid, description: str):
    """An argparse type: a float for which valid(x) holds, else the one-line error 'must be <description>'."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and valid(value)):
            raise argparse.ArgumentTypeError(f"must be {description}; got {text!r}")
        return value

    return parse


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None


# How each kind of shortcut flag is read (simulations.fields.Shortcut.kind); the field's own validation then
# checks the range and names the field. An example ends the flag's help.
SHORTCUT_KINDS = {
    "int": (dict(type=_integer), ""),
    "float": (dict(type=_real(lambda x: True, "a finite real number")), ""),
    "bool": (dict(action=argparse.BooleanOptionalAction, default=None), ""),
    "ints": (dict(type=_int_list), " e.g. 2,4,8"),
    "pairs": (dict(type=_families), " e.g. 2x4,4x8"),
}
SHORTCUT_GROUPS = dict(task="task", model="model", train="training and evaluation", eval="training and evaluation")
FIELD = "="  # a shortcut flag's help before formatting (argparse leaves out an empty help): "=" and its example


def _add_shortcuts(p: argparse.ArgumentParser) -> None:
    """simulate's shortcut flags, one per config field documented with a flag (simulations.fields.shortcuts: the
    fields' metadata is their one source); each action keeps its Shortcut for the help and simulation_config."""
    from simulations.fields import shortcuts

    groups = {title: p.add_argument_group(title) for title in dict.fromkeys(SHORTCUT_GROUPS.values())}
    for short in shortcuts():
        kwargs, example = SHORTCUT_KINDS.get(short.kind, (dict(choices=short.choices), ""))
        action = groups[SHORTCUT_GROUPS[short.section]].add_argument(
            short.flag, dest=short.dest, help=FIELD + example, **kwargs
        )
        action.shortcut = short


class _PresetHelp(argparse.HelpFormatter):
    """Help of `simulate`: each shortcut flag is its config field's documentation, with the presets' values."""

    def _get_help_string(self, action: argparse.Action) -> str:
        short = getattr(action, "shortcut", None)
        if short is None:
            return action.help or ""
        from simulations.fields import field_doc, preset_values

        values = preset_values(short.section, short.name)
        example = (action.help or "").removeprefix(FIELD)
        text = f"{short.section}.{short.name}: {field_doc(short.section, short.name)}{example}"
        text += f" (presets: {values})" if values else ""
        return text.replace("%", "%%")  # argparse expands %(default)s and the like


def simulation_config(args: argparse.Namespace):
    """The run to simulate: a saved config.json (--config) or the task's preset, then the shortcut flags, then
    every --set section.field=value (simulations.fields.assignments), then --seed."""
    import dataclasses

    from simulations.config import RunConfig
    from simulations.fields import assignments, shortcuts
    from simulations.presets import preset

    if args.config is not None:
        try:
            cfg = RunConfig.from_dict(json.loads(Path(args.config).read_text()))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            why = f"{type(err).__name__}: {err}"
            raise UsageError(f"--config {args.config} is not a run's config.json ({why})") from None
        if args.task is not None and args.task != cfg.task.kind:
            raise UsageError(f"--config {args.config} holds a {cfg.task.kind} run; got task {args.task!r}")
        if args.preset is not None:
            raise UsageError("--preset and --config exclude each other (the config file is the whole run)")
    elif args.task is None:
        raise UsageError("simulate needs a task (classification, tokens, regression, ...) or --config FILE")
    else:
        cfg = preset(args.task, args.preset or "quick")
    sections = {name: getattr(cfg, name) for name in ("task", "model", "train", "eval")}
    changes: dict[str, dict] = {name: {} for name in sections}
    given = [s for s in shortcuts() if getattr(args, s.dest, None) is not None]
    for short in given:
        names = {f.name for f in dataclasses.fields(sections[short.section])}
        if short.name not in names:
            kind = cfg.task.kind
            raise UsageError(f"{short.flag} does not apply to {kind} tasks (their fields: {', '.join(sorted(names))})")
        changes[short.section][short.name] = getattr(args, short.dest)
    # one replace per section: its fields are validated together (e.g. risk_tasks <= tasks); the error names the
    # field, prefixed with the section's flags that were given (one of them, or two together, caused it)
    for name in sections:
        try:
            sections[name] = dataclasses.replace(sections[name], **changes[name])
        except ValueError as err:
            flags = ", ".join(s.flag for s in given if s.section == name)
            raise UsageError(f"{flags}: {err}" if flags else str(err)) from None
    cfg = dataclasses.replace(cfg, **sections).assign(assignments(args.set))
    return cfg if args.seed is None else dataclasses.replace(cfg, seed=args.seed)


def _compilation_cache() -> None:
    """Compiled programs kept on disk across runs (simulations.devices.compilation_cache; ICLVERIFY_XLA_CACHE)."""
    from simulations.devices import compilation_cache

    compilation_cache()


TRACK = dict(
    choices=["wandb"],
    help="track each run in Weights & Biases (pip install 'iclverify[track]'; WANDB_MODE=offline writes DIR/wandb "
    "for a later `wandb sync`): config, losses, curves, figures, verdict rows, under the run's config hash",
)


def _tracking(args: argparse.Namespace, group: str | None = None):
    """The --track setting (simulations.tracking.Tracking), its package checked before anything runs; None without."""
    if not getattr(args, "track", None):
        return None
    from iclverify.report import verdict_tables
    from simulations.tracking import Tracking

    track = Tracking(args.track, group=group, tables=verdict_tables)
    track.check()
    return track


def cmd_simulate(args: argparse.Namespace) -> int:
    _compilation_cache()
    from simulations.records import summaries
    from simulations.run import simulate

    cfg = simulation_config(args)
    metrics = simulate(cfg, args.out, progress=not args.quiet and not args.json, track=_tracking(args))
    if args.json:
        last: dict[str, dict[str, float]] = {}
        for curve, method, values in summaries(metrics):
            last.setdefault(curve, {})[method] = values["mean"][-1]
        files = ["config.json", "metrics.json", "errors.npz", "timing.json", "checkpoint.eqx", "error_vs_n.png"]
        out = {"run": metrics["config_hash"], "out": str(args.out), "files": files, "task": cfg.task.kind}
        print(json.dumps(out | {"n_max": cfg.task.n_max, "mean_error_at_n_max": last}, indent=2))
        return 0
    print(f"run {metrics['config_hash']} in {args.out}: metrics.json, error_vs_n.png")
    for curve in metrics["curves"]:
        methods = curve["methods"]
        last = {k: v["mean"][-1] for k, v in methods.items()}
        shown = ", ".join(f"{k} {v:.3f}" for k, v in last.items())
        print(f"  {curve['params']}: at N = {metrics['n_examples'][-1]}: {shown}")
    return 0


def cmd_rates(args: argparse.Namespace) -> int:
    from iclverify.report import fmt_estimate, row_note, verdicts_for

    rows = verdicts_for(args.dirs, seed=args.seed)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return _exit_status(rows, args.fail_on)
    for r in rows:
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.params.items())
        print(
            f"{r.verdict:<13} {r.kind:<12} {r.claim} {r.check} [{params}]: {fmt_estimate(r)}{row_note(r)} "
            f"(claimed {r.expected})"
        )
    return _exit_status(rows, args.fail_on)


def cmd_long_context(args: argparse.Namespace) -> int:
    _compilation_cache()
    from iclverify.report import fmt_estimate
    from iclverify.verdicts import long_context_verdicts
    from simulations import longcontext, plots

    out = Path(args.out)
    say = (lambda _: None) if args.quiet or args.json else (lambda line: print(line, file=sys.stderr))
    quiet = args.quiet or args.json
    results = longcontext.run(out, args.preset, seed=args.seed, schemes=args.schemes, progress=not quiet, say=say)
    plots.long_context(results, out / "long_context.png")
    rows = long_context_verdicts(results)
    if args.json:
        print(json.dumps({"out": str(out), "rows": [r.to_dict() for r in rows]}, indent=2))
        return 0
    for r in rows:
        print(f"{r.verdict:<13} {r.check}: {fmt_estimate(r)} (expected {r.expected})")
    print(f"figure: {out / 'long_context.png'}; curves: {out / 'long_context.json'}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    _compilation_cache()
    from simulations.sweep import Spec, run_sweep

    spec = Spec.load(args.spec)
    out = Path(args.out) if args.out else Path(args.spec).with_suffix("")
    say = (lambda _: None) if args.quiet or args.json else (lambda line: print(line, file=sys.stderr))
    track = _tracking(args, group=f"sweep {out.resolve().name}")
    summary = run_sweep(
        spec, out, args.executor, address=args.address, max_concurrent=args.max_concurrent, say=say, track=track
    )
    failed = [r for r in summary["runs"] if r["status"] == "failed"]
    if args.json:
        print(json.dumps({"out": str(out), "files": ["sweep.json", "sweep.csv"]} | summary, indent=2))
    else:
        states = [r["status"] for r in summary["runs"]]
        counts = ", ".join(f"{states.count(s)} {s}" for s in ("done", "skipped", "failed"))
        print(f"{len(states)} runs in {out} ({counts}): sweep.csv")
    return 1 if failed else 0


def _exit_status(rows: list, fail_on: str | None) -> int:
    """1 when --fail-on inconsistent and a falsifiable verdict is inconsistent (sanity rows only describe and never
    fail a run); 0 otherwise."""
    if fail_on != "inconsistent":
        return 0
    bad = [r for r in rows if r.verdict == "inconsistent" and r.kind == "falsifiable"]
    if bad:
        print(f"iclverify: {len(bad)} inconsistent verdict(s) (--fail-on inconsistent)", file=sys.stderr)
    return 1 if bad else 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from iclverify.calibrate import calibrate, table

    presets = ("quick", "standard", "full") if args.preset in ("all", None) else (args.preset,)
    say = (
        None
        if args.json or args.quiet
        else lambda case: print(f"calibrating {case.preset} {case.kind}", file=sys.stderr)
    )
    presets = () if args.run and args.preset is None else presets
    rows = calibrate(presets, reps=args.reps, seed=args.seed, progress=say, runs=tuple(args.run))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("\n".join(table(rows)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    _compilation_cache()
    from iclverify.report import report

    size = args.preset or ("full" if args.full else "quick")
    track = _tracking(args, group=f"report {Path(args.out).resolve().name}")
    progress = not args.quiet and not args.json
    rows = report(args.out, size, seed=args.seed, progress=progress, address=args.address, track=track)
    if args.json:
        from iclverify.verdicts import summary

        out = {"out": str(args.out), "files": ["report.md", "verdicts.json"], "summary": summary(rows)}
        print(json.dumps(out, indent=2))
    return _exit_status(rows, args.fail_on)


def build_parser(*, shortcut_flags: bool = True) -> argparse.ArgumentParser:
    """The command line. Without `shortcut_flags`, `simulate` lacks its shortcut flags, which are read from the
    config fields (and so import JAX): `main` adds them only for `simulate`, keeping every other command fast."""
    parser = _Parser(prog="iclverify", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"iclverify {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log what runs do (-vv: and the libraries' debug output)"
    )
    parser.add_argument("-q", "--quiet-log", dest="quiet_log", action="store_true", help="log errors only")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_theory_parsers(sub)
    _add_simulate_parser(sub, shortcut_flags)
    _add_sweep_parser(sub)
    _add_report_parsers(sub)
    return parser


def _add_theory_parsers(sub) -> None:
    p = sub.add_parser("bounds", help="table of every catalogue bound at given parameters")
    _add_params(p)
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=cmd_bounds)

    p = sub.add_parser("derive", help="print the checked derivation of one bound")
    p.add_argument("id", help="bound id (see `iclverify bounds`)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser(
        "plot",
        help="draw a bound: n against eps and against d, V, m or l, beside the bounds it is read against",
        description="n against eps (log-log) and against the bound's scaling parameter, with the bounds the audit "
        "reads it against (or --against), the region where a lower bound rises above it shaded.",
    )
    p.add_argument("id", help="bound id (see `iclverify bounds`)")
    p.add_argument("--out", metavar="FILE", help="image to write (default ID.png; the suffix picks the format)")
    p.add_argument("--against", action="append", metavar="ID", help="draw beside this bound (repeatable)")
    p.add_argument("--scaling", choices=["d", "V", "m", "l"], help="the second panel's parameter")
    _add_params(p)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("audit", help="the paper's bounds against tight and explicit textbook bounds")
    _add_params(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)
    p = sub.add_parser("check", help="property battery and Monte-Carlo coverage; non-zero exit on a failure")
    p.add_argument("ids", nargs="*", metavar="ID", help="bound ids (default: every catalogue bound)")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--mutants",
        action="store_true",
        help="run the mutant suite instead: planted mistakes (constants, logs, product/sum, ...) and the score",
    )
    p.add_argument("--trials", type=_positive_int, default=20_000, help="Monte-Carlo trials (default 20000)")
    p.add_argument("--seed", type=_nonnegative_int, default=0)
    p.add_argument(
        "--profile",
        choices=["ci", "thorough"],
        default=None,
        help="hypothesis profile (default: $ICLVERIFY_HYPOTHESIS_PROFILE or ci)",
    )
    p.set_defaults(func=cmd_check)


def _add_simulate_parser(sub, shortcut_flags: bool) -> None:
    p = sub.add_parser(
        "simulate", help="meta-train small transformers and measure in-context error vs N", formatter_class=_PresetHelp
    )
    p.add_argument(
        "task",
        nargs="?",
        help="task family: classification, tokens, regression, or a registered one (iclverify.tasks); "
        "optional with --config",
    )
    p.add_argument(
        "--preset",
        choices=["quick", "standard", "full", "long"],
        help="the task's preset to start from: quick (default), standard (the decisive CPU preset), full (one GPU), "
        "long (tokens: 2048-token prompts)",
    )
    p.add_argument("--config", metavar="FILE", help="rerun a saved run: its config.json (instead of a preset)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="set any config field, repeatable: train.warmup=500, model.width=128, task.dims=[2,4], "
        "eval.finetune_lrs=[1e-3], seed=3 (JSON values; applied after the other flags)",
    )
    p.add_argument("--out", required=True, help="run directory (reused if it holds this run)")
    p.add_argument("--json", action="store_true", help="print what was written and the final errors as JSON")
    p.add_argument("--track", **TRACK)
    p.add_argument("--seed", type=_nonnegative_int)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    if shortcut_flags:
        _add_shortcuts(p)
    p.set_defaults(func=cmd_simulate)


def _add_sweep_parser(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a grid of simulations (one directory each) here or on a Ray cluster; one CSV table",
        description="Run every point of a sweep spec (TOML: task, preset, [set] and [axes] of section.field = "
        "values, as --set names them) as one run directory named by its config hash; finished runs are skipped, "
        "interrupted ones resume from their checkpoints. With Ray (pip install 'iclverify[cluster]') each run is "
        "a task on a local Ray or on a cluster (--address); a run that fails is reported and the others go on. "
        "Exit status 1 when a run failed.",
    )
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep spec")
    p.add_argument("--out", help="sweep directory (default: the spec's path without .toml)")
    p.add_argument(
        "--executor",
        choices=["ray", "serial", "slurm"],
        default="ray",
        help="ray (default), serial (here) or slurm (one job per run through submitit, the spec's [slurm] table)",
    )
    p.add_argument("--address", help="a running Ray cluster: auto or HOST:PORT (default: start Ray on this machine)")
    p.add_argument("--max-concurrent", dest="max_concurrent", type=_positive_int, help="runs at a time (Ray)")
    p.add_argument("--json", action="store_true", help="print the points, their status and the files as JSON")
    p.add_argument("--track", **TRACK)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_sweep)


FAIL_ON = dict(
    choices=["inconsistent"],
    help="exit with status 1 when any verdict is inconsistent (for CI; descriptive rows never fail)",
)


def _add_report_parsers(sub) -> None:
    _add_long_context_parser(sub)
    _add_rates_parser(sub)
    _add_calibrate_parser(sub)
    _add_report_parser(sub)


def _add_long_context_parser(sub) -> None:
    p = sub.add_parser(
        "long-context",
        help="bidirectional encoders trained on short prompts, evaluated to 2047 tokens (about 25 min on 2 cores)",
        description="Train (or resume) small bidirectional encoders with rotary and with no positions on prompts of "
        "64 examples (16 for regression), for an order-invariant task (next-token laws) and a task where each label "
        "is bound to its input by position (regression, labels in tokens of their own), and evaluate in-context error "
        "out to 1023 "
        "examples (2047 tokens) beside each family's reference: a figure, the curves, and rows of the in-context gain "
        "kept past the trained length.",
    )
    p.add_argument("--out", default="long-context", help="output directory (default ./long-context); rerun to resume")
    p.add_argument(
        "--preset", choices=["cpu", "tiny"], default="cpu", help="cpu (default), or tiny (seconds: to try the command)"
    )
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the runs and the bootstrap (default 0)")
    p.add_argument(
        "--schemes",
        type=_schemes,
        default=("rope", "none"),
        help="position schemes, comma-separated, from rope and none (default rope,none; learned positions have no "
        "trained row past the training length)",
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_long_context)


def _add_rates_parser(sub) -> None:
    p = sub.add_parser("rates", help="rate fits and verdicts for finished simulation directories")
    p.add_argument("--fail-on", dest="fail_on", **FAIL_ON)
    p.add_argument(
        "dirs", nargs="+", metavar="DIR", help="run directories written by `iclverify simulate`, or sweep directories"
    )
    p.add_argument("--json", action="store_true", help="print the verdict rows as JSON")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="bootstrap seed (default 0)")
    p.set_defaults(func=cmd_rates)


def _add_calibrate_parser(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="how often the rate verdicts are right, on learners of known behaviour at the presets' sizes",
        description="Feed the rate checks (relative to the reference learner) with null learners, rate-optimal but "
        "not power laws, and with alternatives, at each preset run's sizes with noise like real runs', and count the "
        "verdicts: false alarms for nulls (required <= 0.05; consistent >= 0.8 at the full sizes), power for "
        "alternatives (required >= 0.8). --run DIR calibrates on a finished run's own reference curves.",
    )
    p.add_argument(
        "--preset",
        choices=["quick", "standard", "full", "all"],
        default=None,
        help="sizes to calibrate at (default all)",
    )
    p.add_argument(
        "--run", action="append", default=[], metavar="DIR", help="also a finished run's own curves (repeatable)"
    )
    p.add_argument(
        "--reps", type=_positive_int, default=20, help="repetitions per learner (default 20; the docs' table: 100)"
    )
    p.add_argument("--seed", type=_nonnegative_int, default=0)
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_calibrate)


def _add_report_parser(sub) -> None:
    p = sub.add_parser("report", help="everything in one directory: bounds, audit, coverage, simulations, verdicts")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="CPU-sized presets (default; about 10 min on 2 cores)")
    size.add_argument("--full", action="store_true", help="presets sized for one GPU")
    size.add_argument(
        "--preset",
        choices=["quick", "standard", "full"],
        help="the presets by name: standard is the decisive CPU one (within an hour on 2 cores; N <= 64, every fit "
        "range at least 8x, the task-diversity runs)",
    )
    p.add_argument("--out", default="report", help="report directory (default report/; finished runs in it are reused)")
    p.add_argument(
        "--address",
        help="run the simulations as tasks on a Ray cluster: auto or HOST:PORT (needs iclverify[cluster]; "
        "the report directory must be on storage the cluster shares)",
    )
    p.add_argument("--fail-on", dest="fail_on", **FAIL_ON)
    p.add_argument("--json", action="store_true", help="print what was written and the verdict summary as JSON")
    p.add_argument("--track", **TRACK)
    p.add_argument("--seed", type=_nonnegative_int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_report)


def _positive_int(text: str) -> int:
    value = _nonnegative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}")
    return value


INPUT_ERRORS = (UsageError, InputError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def _logging(args: argparse.Namespace) -> None:
    """Standard logging to stderr: warnings by default, -v the package's INFO lines (a run's steps, as in its
    run.log), -vv everything at DEBUG, -q errors only."""
    level = logging.ERROR if args.quiet_log else {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=logging.WARNING if args.verbose < 2 else logging.DEBUG, format="%(message)s")
    for name in ("simulations", "iclverify", "theory"):
        logging.getLogger(name).setLevel(level)


def command(argv: Sequence[str]) -> str | None:
    """The command of a command line: its first word that is not an option (the global options take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    args = None
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = build_parser(shortcut_flags=command(argv) == "simulate").parse_args(argv)
        _logging(args)
        return args.func(args)
    except INPUT_ERRORS as err:
        print(f"iclverify: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader closed stdout early (`iclverify audit --json | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that flushing stdout at exit does not raise again
        return 0
    except Exception as err:  # anything else is a bug in this package or a library, or a run that diverged
        train = sys.modules.get("simulations.train")  # imported only by the commands that train
        if train is not None and isinstance(err, train.TrainingDiverged):  # its message says what was kept
            print(f"iclverify: {err}", file=sys.stderr)
            return 1
        if args is not None and args.debug:
            raise
        print(
            f"iclverify: internal error: {type(err).__name__}: {err} (a bug; rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
