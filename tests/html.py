"""Well-formedness check for rendered pages (html5lib in strict mode)."""

from __future__ import annotations

import html
import re

import html5lib


def assert_valid_html(content: bytes | str) -> None:
    text = content.decode() if isinstance(content, bytes) else content
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    if text.lstrip().lower().startswith("<!doctype"):
        parser.parse(text)
    else:
        parser.parseFragment(text)


def page_text(content: bytes | str) -> str:
    """A page's text as a reader sees it: no tags, scripts or attributes, whitespace collapsed."""
    text = content.decode() if isinstance(content, bytes) else content
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()
