"""MkDocs hook: the build fails when a page embeds a figure that does not exist (MkDocs checks links, not images),
e.g. a bound page whose figure `python -m iclverify.docgen` has not drawn."""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def on_page_markdown(markdown: str, page, config, files) -> str:
    for target in IMAGE.findall(markdown):
        if "://" not in target and not (Path(page.file.abs_src_path).parent / target).is_file():
            raise PluginError(f"{page.file.src_path}: figure {target} does not exist; run `python -m iclverify.docgen`")
    return markdown
