"""Plots of error against the number of in-context examples N (log-log, intervals shaded)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt

STYLE = {"icl": dict(color="black", lw=2.2), "finetune": dict(color="tab:red", lw=1.8)}


def error_vs_n(metrics: dict, path: Path) -> None:
    """One panel per curve: every method's mean error vs N >= 1 with its 95% interval shaded."""
    curves = metrics["curves"]
    fig, axes = plt.subplots(1, len(curves), figsize=(4.6 * len(curves), 3.8), squeeze=False)
    ns = metrics["n_examples"]
    for ax, curve in zip(axes[0], curves, strict=True):
        for name, m in curve["methods"].items():
            if name == "icl_vs_finetune":
                continue
            grid = m.get("n_examples", ns)  # fine-tuning has its own grid of N
            pts = [
                (n, lo, mu, hi)
                for n, lo, mu, hi in zip(grid, m["ci_low"], m["mean"], m["ci_high"], strict=True)
                if n >= 1 and mu > 0
            ]
            if not pts:
                continue
            n_, lo, mu, hi = zip(*pts, strict=True)
            style = STYLE.get(name, dict(lw=1.2, ls="--"))
            (line,) = ax.plot(n_, mu, label=name, **style)
            ax.fill_between(n_, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (in-context examples)")
        ax.set_ylabel(metrics["metric"])
        ax.set_title(", ".join(f"{k} = {v}" for k, v in curve["params"].items()))
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{metrics['task']}: error vs N (run {metrics['config_hash']})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
