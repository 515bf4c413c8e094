"""Task diversity (Raventós et al. 2023): in-context regression after pretraining on a finite pool of tasks.

Trains the DIVERSITY preset's runs (one per pool size), then prints, per pool size M, ICL's distance in prediction
space to the discrete-prior posterior mean (dMMSE, the Bayes rule for the pool) and to ridge (the Bayes rule for
the Gaussian prior) on fresh Gaussian tasks, averaged over N and divided by d -- Raventós et al.'s figure of merit
(iclverify.reproductions.task_diversity) -- and the three excess errors at n_max. With a small pool the model
should sit near dMMSE, with a large one near ridge. Runs are kept in --out and reused; `report --preset standard`
trains the `standard` runs itself (in its directory, diversity-<M>).

    python benchmarks/diversity.py [--preset quick|standard|full] [--out runs/diversity]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from iclverify.reproductions import markdown, task_diversity
from simulations.presets import DIVERSITY
from simulations.run import load_run, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(DIVERSITY), default="quick")
    parser.add_argument("--out", default="runs/diversity")
    args = parser.parse_args()
    runs = {}
    for name, cfg in DIVERSITY[args.preset].items():
        simulate(cfg, Path(args.out) / name)
        runs[cfg.task.pool] = load_run(Path(args.out) / name)
    print("\n".join(markdown([], task_diversity(runs))))


if __name__ == "__main__":
    main()
