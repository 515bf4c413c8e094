"""The README's commands and CI cannot drift apart."""

import re
import subprocess
from pathlib import Path

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
