"""Task diversity (Raventós et al. 2023): in-context regression error after pretraining on a finite pool of tasks.

Trains the DIVERSITY preset's runs (one per pool size), then prints, at a few N, the mean excess squared error of
in-context learning on fresh Gaussian tasks beside the discrete-prior posterior mean (dMMSE, the Bayes rule for
the pool) and ridge (the Bayes rule for the Gaussian prior). With a small pool the model should sit near dMMSE,
with a large one near ridge. Runs are kept in --out and reused.

    python benchmarks/diversity.py [--preset quick|full] [--out runs/diversity]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulations.config import DIVERSITY
from simulations.run import load_run, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(DIVERSITY), default="quick")
    parser.add_argument("--out", default="runs/diversity")
    args = parser.parse_args()
    rows = []
    for name, cfg in DIVERSITY[args.preset].items():
        simulate(cfg, Path(args.out) / name)
        run = load_run(Path(args.out) / name)
        for curve in run.metrics["curves"]:
            methods = curve["methods"]
            for n in sorted({cfg.task.n_max // 4, cfg.task.n_max // 2, cfg.task.n_max}):
                cells = {m: methods[m]["mean"][n] for m in ("icl_risk", "dmmse", "ridge") if m in methods}
                rows.append((cfg.task.pool, curve["params"]["d"], n, cells))
    print(f"{'pool':>6} {'d':>3} {'N':>4} {'ICL':>9} {'dMMSE':>9} {'ridge':>9}  ICL nearer to")
    for pool, d, n, c in rows:
        nearer = "dMMSE" if abs(c["icl_risk"] - c["dmmse"]) < abs(c["icl_risk"] - c["ridge"]) else "ridge"
        print(f"{pool:>6} {d:>3} {n:>4} {c['icl_risk']:>9.4f} {c['dmmse']:>9.4f} {c['ridge']:>9.4f}  {nearer}")


if __name__ == "__main__":
    main()
