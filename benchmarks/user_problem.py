"""Time a user's validity check: one bound on a problem declared in a user's own file, at the default power.

Runs `check_bound` (every property, the Monte-Carlo validity check at the default points and power, and the
looseness estimate) on the valid and the 4x-too-small bounds of each problem in examples/user_problems.py, and
prints each one's seconds and verdict, the slowest, and its ratio to the 60-second target.

    python benchmarks/user_problem.py [--power 0.9]
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from theory.reference import reference_for, register_problem
from theory.testing import BoundCheckError, check_bound, load_profile

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "user_problems.py"
TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--power", type=float, default=0.9, help="power wanted against a failure rate of 2 delta")
    args = parser.parse_args()
    load_profile("ci")
    spec = importlib.util.spec_from_file_location("user_problems", EXAMPLE)
    user = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(user)
    slowest = 0.0
    quarter = [user.scaled(b, 1 / 4, "quarter") for b in (user.MEDIAN, user.MEAN)]
    for bound in (user.MEDIAN, quarter[0], user.MEAN, quarter[1]):
        ref = reference_for(bound.problem)
        mc = ref.monte_carlo
        register_problem(
            ref.problem, mc.draw, mc.laws, description=ref.description, beat=mc.beat, power=args.power, replace=True
        )
        start = time.perf_counter()
        try:
            report = check_bound(bound)
            verdict = f"passed; {report.monte_carlo}"
        except BoundCheckError as err:
            verdict = "failed: " + str(err).splitlines()[1][:110]
        seconds = time.perf_counter() - start
        slowest = max(slowest, seconds)
        print(f"{bound.id}: {seconds:5.1f} s  {verdict}")
    print(f"slowest check of one bound: {slowest:.1f} s ({slowest / TARGET_S:.2f}x the {TARGET_S:.0f} s target)")


if __name__ == "__main__":
    main()
