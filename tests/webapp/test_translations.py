"""Every string the pages mark for translation has its English (the UI speaks Chinese first)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEBAPP = Path(__file__).parents[2] / "webapp"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def test_every_marked_string_has_an_english_translation():
    with open(WEBAPP / "translations" / "en" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle, locale="en")
    marked = {message if isinstance(message, str) else message[0]
              for _file, _line, message, _comments, _context in extract_from_dir(
                  str(WEBAPP), METHODS, keywords=KEYWORDS)}
    missing = sorted(m for m in marked if m and (m not in catalog or not catalog[m].string))
    assert missing == [], f"{len(missing)} strings without English, e.g. {missing[:5]}"
