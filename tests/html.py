"""Well-formedness check for rendered pages (html5lib in strict mode)."""

from __future__ import annotations

import html5lib


def assert_valid_html(content: bytes | str) -> None:
    text = content.decode() if isinstance(content, bytes) else content
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    if text.lstrip().lower().startswith("<!doctype"):
        parser.parse(text)
    else:
        parser.parseFragment(text)
