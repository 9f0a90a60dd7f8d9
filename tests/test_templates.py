"""Template source rules that Django does not check itself."""

from pathlib import Path

import pytest

TEMPLATES = sorted((Path(__file__).resolve().parent.parent / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.name)
def test_every_short_comment_closes_on_its_line(path):
    """``{# … #}`` is one line only: spread over two, it is printed into the page as text.
    Longer comments use ``{% comment %}``."""
    open_lines = [
        number
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if line.count("{#") > line.count("#}")
    ]
    assert open_lines == [], f"{path}: a {{# comment #}} spans lines {open_lines}"
