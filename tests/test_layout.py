"""The code stays readable: no function in iclverify/ or simulations/ runs over 60 lines of code (its docstring
not counted: the longest, rates.relative_scaling, is one procedure of 59 lines under a 22-line Args/Returns)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    skipped = first.end_lineno - first.lineno + 1 if ast.get_docstring(node) is not None else 0
    return node.end_lineno - node.lineno + 1 - skipped


def test_no_function_is_longer_than_60_lines_of_code():
    long = []
    for package in ("iclverify", "simulations"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > 60:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({_code_lines(node)} lines)")
    assert not long, long
