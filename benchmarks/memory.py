"""Device memory of every run of a preset, per stage, from XLA's compiled-program sizes (nothing is run).

For each run of the preset (its simulations, length-generalization and task-diversity runs) prints the bytes of
each stage's compiled program (simulations.memory: arguments + outputs + temporaries - donated buffers) on the
current backend, beside the upper estimate that `simulate` checks before training (read from the traced program,
without compiling), then the total -- the largest stage of any run, since stages run one after another and a run's
arrays are freed before the next -- against a budget (default 60 GB for full and long, one 80 GB GPU with room;
4 GB for quick and standard). Exit status 1 when over budget.

    python benchmarks/memory.py [--preset quick|standard|full|long] [--budget GB] [--run NAME]
"""

from __future__ import annotations

import argparse
import sys

from simulations.memory import BUDGETS_GB, estimates, fmt_gb, preset_runs, stages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(BUDGETS_GB), default="full")
    parser.add_argument("--budget", type=float, help="GB (default: 4 for quick, 60 for full and long)")
    parser.add_argument("--run", action="append", help="only these runs of the preset (repeatable)")
    args = parser.parse_args()
    budget = args.budget if args.budget is not None else BUDGETS_GB[args.preset]
    import jax

    print(f"backend {jax.default_backend()} ({jax.devices()[0].device_kind}); preset {args.preset}")
    peak, where = 0, ""
    for name, cfg in preset_runs(args.preset).items():
        if args.run and name not in args.run:
            continue
        upper = estimates(cfg)
        for stage, size in stages(cfg).items():
            estimate = f"estimate {fmt_gb(upper[stage]):>10} ({upper[stage] / max(size, 1):.2f}x)"
            print(f"{name:<22} {stage:<18} {fmt_gb(size):>10}  {estimate}", flush=True)
            if size > peak:
                peak, where = size, f"{name}, {stage}"
    fits = peak <= budget * 1e9
    print(f"total (largest stage: {where}): {fmt_gb(peak)} of a {budget:g} GB budget: {'fits' if fits else 'OVER'}")
    return 0 if fits else 1


if __name__ == "__main__":
    sys.exit(main())
