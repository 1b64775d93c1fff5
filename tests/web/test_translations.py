"""Every string a page shows has its Chinese, and the compiled catalogue matches the source."""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "web"
PO = WEB / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


def _source_strings() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map=method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_page_string_has_a_chinese_translation() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    strings = _source_strings()
    assert len(strings) > 200  # the extraction itself works
    missing = sorted(strings - translated)
    assert missing == [], f"add these to {PO.name} (see README, Contributing): {missing}"


def test_the_compiled_catalogue_is_up_to_date() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [
        m.id
        for m in catalog
        if m.id
        and m.string
        and (compiled.pgettext(m.context, str(m.id)) if m.context else compiled.gettext(str(m.id)))
        != m.string
    ]
    assert stale == [], "run: cd web && pybabel compile -d translations"
