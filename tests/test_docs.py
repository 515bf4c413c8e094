"""The documentation cannot drift from the code: generated pages, anchors, references, executable tutorial."""

import re
import shutil
from pathlib import Path

import pytest

import theory
from iclverify import docgen
from theory.citations import SOURCES, bibtex

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_generated_pages_match_the_code():
    assert docgen.stale() == [], "run `python -m iclverify.docgen`"


def test_docgen_writes_into_any_directory(tmp_path):
    """Outside a source checkout too: --out names the directory to write, and --check reads it back."""
    out = tmp_path / "site-docs"
    assert docgen.main(["--out", str(out)]) == 0
    assert (out / "cli.md").is_file() and (out / "bounds" / "index.md").is_file()
    assert docgen.main(["--check", "--out", str(out)]) == 0


def test_drift_is_detected(tmp_path, monkeypatch):
    root = tmp_path / "docs"
    shutil.copytree(DOCS, root)
    assert docgen.stale(root) == []
    page = root / "bounds" / "hoeffding.md"
    page.write_text(page.read_text().replace(r"2 \epsilon^{2}", r"3 \epsilon^{2}", 1))
    (root / "bounds" / "retired.bound.md").write_text("# gone\n")
    assert docgen.stale(root) == ["bounds/hoeffding.md", "bounds/retired.bound.md"]
    # ... and a change in the code shows up as a difference too
    monkeypatch.setattr(docgen, "DEFAULTS", docgen.DEFAULTS | {"eps": 0.1})
    assert "bounds/paper.text-generation.md" in docgen.stale(DOCS)


@pytest.mark.parametrize("bound", theory.catalogue(), ids=lambda b: b.id)
def test_each_bound_page_shows_the_code_formula_under_stable_anchors(bound):
    text = (DOCS / "bounds" / f"{bound.id}.md").read_text()
    after = text.split('<a id="eq-bound"></a>', 1)[1]
    assert after.split("$$")[1].strip() == bound.latex()
    for anchor in ("statement", "assumptions", "conditions", "derivation", "provenance", "citation", "audit", "usage"):
        assert f"{{#{anchor}}}" in text
    if bound.derivation is not None:
        steps = bound.derivation.to_dict()["steps"]
        for k, step in enumerate(steps, 1):
            assert f'<a id="eq-step-{k}"></a>\n\n$$\n{step["latex"]}\n$$' in text
    assert bound.citation.key in text


def test_index_links_every_equation():
    index = (DOCS / "bounds" / "index.md").read_text()
    for b in theory.catalogue():
        assert f"({b.id}.md#eq-bound)" in index


def test_references_cover_every_citation():
    keys = set(re.findall(r"^@\w+\{([^,]+),", (DOCS / "references.bib").read_text(), re.M))
    assert keys == set(SOURCES)
    assert {b.citation.key for b in theory.catalogue()} <= keys
    assert "{\\'u}" in bibtex() and "ú" not in bibtex()  # plain-BibTeX-safe


def test_every_doc_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert {p for p in pages if p not in nav} == set()


def test_tutorial_runs(capsys):
    """Every python block of the tutorial, in order, in one namespace (they build on each other)."""
    code = re.findall(r"```python\n(.*?)\n```", (DOCS / "tutorial.md").read_text(), re.S)
    assert len(code) >= 5
    namespace: dict = {}
    for block in code:
        exec(compile(block, "docs/tutorial.md", "exec"), namespace)
    namespace["test_my_bound"]()
    out = capsys.readouterr().out
    assert "[order]" in out and "599.14" in out


def test_readme_reaches_an_equation_in_two_clicks():
    """README -> the bound index -> a bound's displayed equation: every relative link on the way exists."""
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(((?!https?:)[^)#]+)(#[^)]*)?\)", readme)
    assert ("docs/bounds/index.md", "") in links
    for path, _ in links:
        assert (ROOT / path).exists(), path
    index = (DOCS / "bounds" / "index.md").read_text()
    page, anchor = re.search(r"\]\((paper\.text-generation\.md)(#eq-bound)\)", index).groups()
    assert '<a id="eq-bound"></a>' in (DOCS / "bounds" / page).read_text() and anchor == "#eq-bound"


def test_every_bound_page_shows_its_figure_and_a_missing_one_fails_the_build(tmp_path):
    import importlib.util
    import types

    from mkdocs.exceptions import PluginError

    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "mkdocs_hooks.py")
    mkdocs_hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mkdocs_hooks)

    for b in theory.catalogue():
        assert f"]({b.id}.png)" in (DOCS / "bounds" / f"{b.id}.md").read_text()
        assert (DOCS / "bounds" / f"{b.id}.png").is_file()
    page = types.SimpleNamespace(file=types.SimpleNamespace(abs_src_path=str(tmp_path / "p.md"), src_path="p.md"))
    assert mkdocs_hooks.on_page_markdown("![a](https://x/y.png)", page, None, None)
    with pytest.raises(PluginError, match=r"figure gone\.png does not exist"):
        mkdocs_hooks.on_page_markdown("text ![a figure](gone.png)", page, None, None)


def _api_objects():
    """Every object docs/api.md renders (`::: path`, and a `members: [...]` list), loaded by griffe as mkdocstrings
    does."""
    import griffe

    text = (ROOT / "docs" / "api.md").read_text()
    packages: dict = {}
    for path, members in re.findall(r"^::: (\S+)(?:\n    options:\n      members: \[([^\]]*)\])?", text, re.M):
        top, rest = path.split(".", 1)
        if top not in packages:
            packages[top] = griffe.load(top, search_paths=[str(ROOT)], docstring_parser="google")
        obj = packages[top][rest]
        for target in [obj[m.strip()] for m in members.split(",")] if members else [obj]:
            yield target.final_target if target.is_alias else target


def test_api_page_documents_every_parameter():
    """The API page renders parameter tables (mkdocstrings, Google-style docstrings): every function it shows
    documents each parameter (Args), every class each field (Attributes or Args), and every name it lists exists."""
    missing = []
    for obj in _api_objects():
        if obj.is_attribute:
            continue
        names = {p.name for p in obj.parameters if p.name not in ("self", "cls")} if obj.is_function else set()
        if obj.is_class:
            names = {p.name for p in obj.parameters if p.name != "self"}
        sections = obj.docstring.parse("google") if obj.docstring else []
        documented = {
            item.name.lstrip("*")
            for s in sections
            if s.kind.value in ("parameters", "attributes", "other parameters")
            for item in s.value
        }
        missing += [f"{obj.path}({name})" for name in sorted(names - documented)]
    assert not missing, "undocumented in docs/api.md's objects: " + ", ".join(missing)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The documentation site, built as the README's test command builds it (strict)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)], cwd=ROOT, check=True)
    return out


def test_site_loads_nothing_from_another_host_and_its_math_is_typeset(site):
    """Offline docs: no page loads a script or stylesheet from another host (MathJax's CDN, Google Fonts), and math
    is MathML written at build time (mkdocs_hooks.py), no TeX left for a script to typeset."""
    external = re.compile(r'<(?:script|link)\b[^>]*\b(?:src|href)="(?:https?:)?//', re.I)
    pages = list(site.rglob("*.html"))
    assert len(pages) > 30
    for page in pages:
        text = page.read_text()
        assert not external.search(text), page
        assert 'class="arithmatex"' not in text, page
    assert (site / "bounds" / "hoeffding" / "index.html").read_text().count("<math") >= 2


def test_a_browser_shows_a_bound_page_formula_typeset(site, tmp_path):
    """In a real headless browser (Chromium, where installed), the display formula of a bound page lays out as
    MathML: a block of math as tall as its fraction, reading as symbols, not as TeX source."""
    import json
    import subprocess

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    page = (site / "bounds" / "hoeffding" / "index.html").read_text()
    probe = (
        "<script>const m = document.querySelector('math[display=\"block\"]'); const r = m.getBoundingClientRect();"
        "document.body.dataset.probe = JSON.stringify({display: getComputedStyle(m).display, height: r.height,"
        " text: m.textContent});</script>"
    )
    probed = site / "bounds" / "hoeffding" / "probe.html"  # beside the page: its stylesheets resolve the same
    probed.write_text(page.replace("</body>", probe + "</body>"))
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", probed.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[-500:]
    result = json.loads(found.group(1).replace("&quot;", '"'))
    assert result["display"] == "block math" and result["height"] > 25, result
    assert "\\" not in result["text"] and "δ" in result["text"], result
