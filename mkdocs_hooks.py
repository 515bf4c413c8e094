"""MkDocs hooks: the build fails when a page embeds a figure that does not exist (MkDocs checks links, not images),
e.g. a bound page whose figure `python -m iclverify.docgen` has not drawn; and math is typeset at build time, as
MathML (latex2mathml), so that the site needs no script from a CDN and reads offline."""

from __future__ import annotations

import html
import re
from pathlib import Path

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def on_page_markdown(markdown: str, page, config, files) -> str:
    for target in IMAGE.findall(markdown):
        if "://" not in target and not (Path(page.file.abs_src_path).parent / target).is_file():
            raise PluginError(f"{page.file.src_path}: figure {target} does not exist; run `python -m iclverify.docgen`")
    return markdown


# pymdownx.arithmatex (generic mode) wraps math as <span class="arithmatex">\(...\)</span> (inline) or
# <div class="arithmatex">\[...\]</div> (display), the TeX HTML-escaped
MATH = re.compile(r'<(span|div) class="arithmatex">\\[(\[](.*?)\\[)\]]</\1>', re.S)


def on_page_content(content: str, page, config, files) -> str:
    def typeset(match: re.Match) -> str:
        tex = html.unescape(match.group(2)).strip()
        try:
            return convert(tex, display="block" if match.group(1) == "div" else "inline")
        except Exception as err:  # a formula latex2mathml cannot read fails the build, naming it
            raise PluginError(f"{page.file.src_path}: cannot typeset ${tex}$ ({type(err).__name__}: {err})") from err

    return MATH.sub(typeset, content)
