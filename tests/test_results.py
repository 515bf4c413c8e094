"""docs/results.md is what its stored report files give (python -m iclverify.results)."""

import json
from pathlib import Path

from iclverify import results
from iclverify import verdicts as V

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_results_page_matches_its_stored_verdicts():
    assert (DOCS / results.PAGE).read_text() == results.render(DOCS), "rerun `python -m iclverify.results REPORT`"


def test_stored_verdict_rows_read_back_unchanged():
    stored = json.loads((DOCS / results.STORE / "verdicts.json").read_text())
    assert [V.Verdict.from_dict(r).to_dict() for r in stored] == stored
    assert {r["verdict"] for r in stored} <= set(V.VERDICTS)
