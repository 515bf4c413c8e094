"""Plots of error against the number of in-context examples N (log-log, intervals shaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # not pyplot: importing this module leaves the user's backend alone

from simulations.files import atomic
from simulations.records import VERSUS, curve_key, learner, split

STYLE = {"icl": dict(color="black", lw=2.2), "finetune": dict(color="tab:red", lw=1.8)}


def _band(ax, ns, m: dict, label: str, style: dict) -> None:
    """A method's mean against N >= 1 (its own "n_examples" when it has them) with its interval shaded; points
    with a zero mean have no place on a log axis."""
    grid = m.get("n_examples", ns)
    pts = [p for p in zip(grid, m["ci_low"], m["mean"], m["ci_high"], strict=True) if p[0] >= 1 and p[2] > 0]
    if not pts:
        return
    n_, lo, mu, hi = zip(*pts, strict=True)
    (line,) = ax.plot(n_, mu, label=label, **style)
    ax.fill_between(n_, lo, hi, color=line.get_color(), alpha=0.15, lw=0)


def error_vs_n(metrics: dict, path: Path) -> None:
    """One panel per curve: every method's mean error vs N >= 1 with its 95% interval shaded."""
    curves = metrics["curves"]
    fig = Figure(figsize=(4.6 * len(curves), 3.8))
    axes = fig.subplots(1, len(curves), squeeze=False)
    ns = metrics["n_examples"]
    for ax, curve in zip(axes[0], curves, strict=True):
        for name, m in curve["methods"].items():
            if name == VERSUS or "metric" in m:  # another metric (e.g. KL) has its own figure
                continue
            _band(ax, ns, m, name, STYLE.get(name, dict(lw=1.2, ls="--")))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (in-context examples)")
        ax.set_ylabel(metrics["metric"])
        ax.set_title(", ".join(f"{k} = {v}" for k, v in curve["params"].items()))
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{metrics['task']}: error vs N (run {metrics['config_hash']})")
    fig.tight_layout()
    with atomic(Path(path)) as f:  # in a run directory: a kill leaves no half-drawn figure
        fig.savefig(f, dpi=120, format="png")


def _loglog(ax, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)


def _risk_methods(curve: dict, risk: str) -> list[str]:
    """The smooth curves of a rates panel: per-task risks (ICL's, its halfway checkpoint's, the references', the
    fine-tuned model's) and exact expected errors; single-query errors (jagged, 0 at large N for the best
    learners) are left to each run's error_vs_n.png."""
    suffix = risk.removeprefix("icl")  # '_risk', '_risk_max': the references' per-task risks end with it
    names = []
    for name, m in curve["methods"].items():
        if "metric" in m or name == VERSUS:
            continue
        if (name.endswith(suffix) and not name.startswith("icl")) or name == risk:
            names.append(name)
    return names


def rates_panel(metrics: dict, risk: str, fits: dict, bounds: dict, path: Path, expected: tuple[str, ...] = ()) -> None:
    """Per-task risk of in-context learning vs N with its fitted power law, the bound's eps(N), and the other
    per-task risks (references, the halfway checkpoint, the fine-tuned model) and the `expected` methods that have
    no per-task risk (exact expected errors such as the Bayes floor); the legend sits below the panels, off the
    curves.

    fits: curve key -> {'n_range': [lo, hi], 'prefactor': a, 'estimate': b} (a N^b drawn on the fit range);
    bounds: curve key -> (label, N values, eps values), the paper bound's curve (points with eps <= 1).
    """
    curves = metrics["curves"]
    fig = Figure(figsize=(4.6 * len(curves), 4.6))
    axes = fig.subplots(1, len(curves), squeeze=False)
    ns = metrics["n_examples"]
    for ax, curve in zip(axes[0], curves, strict=True):
        key = curve_key(curve["params"])
        exact = [e for e in expected if e in curve["methods"] and learner(e, risk) not in curve["methods"]]
        for name in [*_risk_methods(curve, risk), *exact]:
            label = "ICL (per-task risk)" if name == risk else name
            style = STYLE["icl"] if name == risk else STYLE.get(name, dict(lw=1.1, ls="--", alpha=0.8))
            if name.startswith("halfway"):
                style, label = dict(color="gray", lw=1.4, ls=":"), "ICL at half the training budget"
            _band(ax, ns, curve["methods"][name], label, style)
        fit = fits.get(key)
        if fit and fit.get("estimate") is not None:
            lo, hi = fit["n_range"]
            x = np.geomspace(lo, hi, 20)
            ax.plot(
                x,
                fit["prefactor"] * x ** fit["estimate"],
                color="tab:orange",
                lw=2.5,
                alpha=0.8,
                label="power-law fit to ICL",
            )
        if key in bounds:
            label, bn, be = bounds[key]
            if len(bn):
                ax.plot(bn, be, color="tab:purple", ls=":", lw=1.8, label=label)
        _loglog(
            ax,
            "N (in-context examples)",
            metrics["metric"],
            ", ".join(f"{k} = {v}" for k, v in curve["params"].items()),
        )
        ax.set_xlim(1, ns[-1] * 1.1)
    _legend_below(fig, axes[0])
    fig.suptitle(f"{metrics['task']}: per-task risk vs N (run {metrics['config_hash']})")
    fig.savefig(path, dpi=110, bbox_inches="tight")


def _legend_below(fig, axes) -> None:
    """One legend for every panel, below them (off the curves)."""
    seen = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    fig.tight_layout(rect=(0, 0.12, 1, 0.94))
    fig.legend(seen.values(), seen.keys(), loc="lower center", ncol=min(4, len(seen)), fontsize=7, frameon=False)


def ratio_panel(ratios: dict, reference: str, title: str, path: Path, window: tuple[int, int] | None = None) -> None:
    """ICL's mean risk over the reference's against N, with its 95% interval, one line per curve (and the ratio at
    half the training budget, dotted); 1 means ICL is the reference. `window`: the N range of the rate checks.

    ratios: curve key -> {'n': [N], 'ratio': [N], 'low': [N], 'high': [N]} and optionally 'halfway' (a ratio [N]).
    """
    fig = Figure(figsize=(5.6, 4.4))
    ax = fig.subplots()
    for key, r in ratios.items():
        (line,) = ax.plot(r["n"], r["ratio"], lw=1.8, label=key)
        ax.fill_between(r["n"], r["low"], r["high"], color=line.get_color(), alpha=0.15, lw=0)
        if r.get("halfway") is not None:
            ax.plot(r["n"], r["halfway"], color=line.get_color(), lw=1.1, ls=":", label=f"{key}, half the budget")
    ax.axhline(1.0, color="gray", lw=1)
    if window:
        ax.axvspan(*window, color="tab:orange", alpha=0.08, lw=0, label="range of the rate checks")
    ax.set_xscale("log")
    ax.set_xlabel("N (in-context examples)")
    ax.set_ylabel(f"mean risk, ICL / {reference}")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    _legend_below(fig, [ax])
    fig.savefig(path, dpi=110, bbox_inches="tight")


def n_star_vs_size(scaling: dict, size_name: str, title: str, path: Path) -> None:
    """N*(eps) (log-log crossing of the mean curve) against d or m*V, one line per eps, with a slope-1 guide."""
    fig = Figure(figsize=(5.2, 4.0))
    ax = fig.subplots()
    sizes = np.array(scaling.get("sizes", []), dtype=float)
    rows = np.array(scaling.get("crossings", []), dtype=float)  # [curve, eps], in the order of sizes
    for j, eps in enumerate(scaling.get("eps", [])):
        ax.plot(sizes, rows[:, j], "o-", label=f"eps = {eps:.3g}")
    if len(rows) and np.isfinite(rows).all():
        anchor = np.exp(np.log(rows[:, 0]).mean() - np.log(sizes).mean())  # slope-1 line through the first eps
        ax.plot(sizes, anchor * sizes, color="gray", ls="--", label="slope 1 (theory)")
    b, ci = scaling.get("estimate"), scaling.get("interval", [None, None])
    text = (
        "no fit: " + scaling.get("reason", "") if b is None else f"fitted exponent {b:.2f} [{_f(ci[0])}, {_f(ci[1])}]"
    )
    ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=8)
    _loglog(ax, size_name, "N*(eps)", title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _f(x: float | None) -> str:
    return "unbounded" if x is None else f"{x:.2f}"


def icl_vs_finetune(runs: list[dict], path: Path) -> None:
    """Distance between the in-context and the fine-tuned predictions vs N, one line per curve of every run."""
    fig = Figure(figsize=(5.0 * len(runs), 3.8))
    axes = fig.subplots(1, len(runs), squeeze=False)
    for ax, metrics in zip(axes[0], runs, strict=True):
        for curve in metrics["curves"]:
            m = curve["methods"][VERSUS]
            pts = [
                (n, lo, mu, hi)
                for n, lo, mu, hi in zip(m["n_examples"], m["ci_low"], m["mean"], m["ci_high"], strict=True)
                if n >= 1 and mu > 0
            ]
            if pts:
                n_, lo, mu, hi = zip(*pts, strict=True)
                (line,) = ax.plot(n_, mu, "o-", label=", ".join(f"{k}={v}" for k, v in curve["params"].items()))
                ax.fill_between(n_, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
        _loglog(ax, "N (examples)", "distance(ICL, fine-tuned)", f"{metrics['task']}: ICL vs fine-tuned")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def window(errors: dict, ms, scalings: dict, path: Path) -> None:
    """Left: TV at the query context vs window k, one line per (m, policy). Right: the window N*(eps) vs m."""
    fig = Figure(figsize=(10.5, 4.0))
    left, right = fig.subplots(1, 2)
    styles = {"random": "--", "retrieval": "-"}
    for key, values in errors.items():
        m, policy = split(key)
        mean = values.reshape(-1, values.shape[-1]).mean(0)
        k = np.arange(len(mean))
        left.plot(k[1:], mean[1:], styles.get(policy, ":"), label=f"{m}, {policy}")
    _loglog(left, "window k (examples in context)", "TV at the query's context", "error vs window")
    left.legend(fontsize=7)
    for policy, row in scalings.items():
        crossings = np.array(row.get("crossings", []), dtype=float)
        if crossings.size:
            sizes = np.array(row["sizes"], dtype=float)
            est = row.get("estimate")
            label = f"{policy}: exponent " + ("n/a" if est is None else f"{est:.2f}")
            right.plot(sizes, np.exp(np.log(crossings).mean(1)), "o" + styles.get(policy, ":"), label=label)
    _loglog(right, "m (contexts)", "window N*(eps), geometric mean over eps", "window needed vs m")
    if right.get_legend_handles_labels()[0]:
        right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def length(runs: dict, path: Path) -> None:
    """Per-task risk vs N for each position encoding, with the trained length T marked."""
    fig = Figure(figsize=(5.6, 4.0))
    ax = fig.subplots()
    trained = None
    for pos, (metrics, T) in runs.items():
        m = metrics["curves"][0]["methods"]["icl_risk"]
        n = np.arange(len(m["mean"]))
        (line,) = ax.plot(n[1:], m["mean"][1:], label=f"{pos} positions")
        ax.fill_between(n[1:], m["ci_low"][1:], m["ci_high"][1:], color=line.get_color(), alpha=0.15, lw=0)
        trained = T
    if trained:
        ax.axvline(trained, color="gray", ls=":", label=f"trained length T = {trained}")
    _loglog(ax, "N (in-context examples)", "TV (mean over contexts)", "length generalization")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def other_metric(metrics: dict, metric: str, label: str, path: Path) -> None:
    """The methods scored in another metric than the run's (their summaries carry "metric"), mean vs N with the
    interval shaded, log-log; one panel per curve."""
    curves = metrics["curves"]
    fig = Figure(figsize=(4.6 * len(curves), 3.8))
    axes = fig.subplots(1, len(curves), squeeze=False)
    ns = metrics["n_examples"]
    for ax, curve in zip(axes[0], curves, strict=True):
        for name, m in curve["methods"].items():
            if m.get("metric") != metric:
                continue
            _band(ax, ns, m, name, STYLE["icl"] if name.startswith("icl") else dict(lw=1.3, ls="--"))
        _loglog(ax, "N (in-context examples)", label, curve_key(curve["params"]))
        ax.legend(fontsize=7)
    fig.suptitle(f"{metrics['task']}: {label} (run {metrics['config_hash']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def long_context(results: dict, path: Path) -> None:
    """Long context: one panel per task, in-context error vs N for each position scheme beside the family's
    reference on the same prompts (dashed), intervals shaded, the trained length T marked; prompt tokens on top."""
    from matplotlib.ticker import FixedLocator, NullLocator

    tasks = sorted({split(name)[0] for name in results})
    fig = Figure(figsize=(5.0 * len(tasks), 4.6))
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=True):
        runs = {split(name)[1]: r for name, r in results.items() if split(name)[0] == task}
        first = next(iter(runs.values()))
        ns = first["n"]
        for scheme, r in runs.items():
            _band(ax, ns, r["icl"], f"ICL, {scheme} positions", dict(lw=1.8))
        reference = f"{first['reference_name']} (reference)"
        _band(ax, ns, first["reference"], reference, dict(color="black", ls="--", lw=1.2))
        T = first["trained"]
        ax.axvline(T, color="gray", ls=":", lw=1.0, label=f"trained length T = {T} ({2 * T + 1} tokens)")
        _loglog(ax, "N (in-context examples)", f"{first['metric']} at the query", task)
        top = ax.secondary_xaxis("top", functions=(lambda n: 2 * n + 1, lambda t: (t - 1) / 2))
        marks = [t for t in (3, 9, 33, 129, 513, 2047) if t <= 2 * ns[-1] + 1]
        top.xaxis.set_major_locator(FixedLocator(marks))
        top.xaxis.set_minor_locator(NullLocator())
        top.set_xticklabels([str(t) for t in marks])
        top.set_xlabel("prompt tokens (2N + 1)")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)  # off the curves
    fig.tight_layout()
    with atomic(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def task_diversity(rows: list[dict], path: Path) -> None:
    """ICL's prediction-space distance / d to dMMSE and to ridge against the pretraining pool size M
    (iclverify.reproductions.task_diversity rows; the figure of merit of Raventos et al. 2023, Figure 2)."""
    fig = Figure(figsize=(5.5, 4.0))
    ax = fig.subplots()
    pools = [r["pool"] for r in rows]
    for name, label in (("dmmse", "to dMMSE (the pool's posterior mean)"), ("ridge", "to ridge (Gaussian prior)")):
        ax.plot(pools, [r["distance_over_d"][name] for r in rows], "o-", label=f"ICL {label}")
    _loglog(ax, "pretraining pool size M", "dPMSE / d on fresh tasks", "task diversity")
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
