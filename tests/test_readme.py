"""The README's commands and CI cannot drift apart."""

import re
import subprocess
from pathlib import Path

import pytest

from theory.testing import BoundCheckError

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme)
    assert len(blocks) == 2, "the README has exactly two copy-paste commands"
    extracted = subprocess.run(
        ["awk", "/<!-- test-command/{found=1; next} found && /^```bash/{getline; print; exit}", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert extracted == blocks[1] and "pytest" in extracted
    assert "awk '/<!-- test-command/" in (ROOT / ".ci" / "run").read_text()


def _user_example() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"<!-- user-example -->\n```python\n(.*?)\n```", readme, re.S).group(1)


def _run(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_readme_user_example_runs():
    _run(_user_example())["test_one_sided_hoeffding"]()


def test_readme_user_example_can_fail():
    """The same lines catch a broken bound: the example is a real test, not a smoke test."""
    code = _user_example()
    broken = code.replace("expr=sp.log(1 / delta) / (2 * eps**2),", "expr=sp.log(1 / delta) / (2 * eps),")
    assert broken != code
    with pytest.raises(BoundCheckError, match=r"\[order\]"):
        _run(broken)["test_one_sided_hoeffding"]()
