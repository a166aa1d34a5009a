"""Every word of the handout has its Spanish: each built-in string is in the catalog (src/isotrack/locale/es),
translated, not fuzzy, with the same placeholders, and the compiled catalog committed beside it says the same
(CI need not have gettext); dates are written out in each language."""

from __future__ import annotations

import datetime as dt
import gettext
import re
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.functional import Promise

from isotrack.handouts import sheet, wording

CATALOG = Path(sheet.__file__).resolve().parents[1] / "locale" / "es" / "LC_MESSAGES"


def unquoted(parts: list[str]) -> str:
    text = "".join(parts)
    return re.sub(r'\\(["\\n])', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), text)


def po_entries() -> dict[tuple[str | None, str], tuple[str, set[str]]]:
    """(context, msgid) -> (msgstr, flags) of django.po, the header aside."""
    entries: dict[tuple[str | None, str], tuple[str, set[str]]] = {}
    for block in (CATALOG / "django.po").read_text(encoding="utf-8").split("\n\n"):
        flags: set[str] = set()
        fields: dict[str, list[str]] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith(("msgctxt ", "msgid ", "msgstr ")):
                current, _, rest = line.partition(" ")
                fields[current] = [rest[1:-1]]
            elif line.startswith('"') and current:
                fields[current].append(line[1:-1])
        if "msgid" not in fields or not unquoted(fields["msgid"]):
            continue
        context = unquoted(fields["msgctxt"]) if "msgctxt" in fields else None
        entries[(context, unquoted(fields["msgid"]))] = (unquoted(fields.get("msgstr", [""])), flags)
    return entries


def built_in() -> list[tuple[str | None, str]]:
    """Every string of wording marked for translation, as (context, msgid)."""
    promises: list[Promise] = []
    for value in vars(wording).values():
        if isinstance(value, Promise):
            promises.append(value)
        elif isinstance(value, wording.Section):
            promises += [value.title, value.default]
        elif isinstance(value, dict):
            promises += [v for v in value.values() if isinstance(v, Promise)]
    found = []
    for promise in promises:
        args = promise._args  # type: ignore[attr-defined]
        found.append((None, args[0]) if len(args) == 1 else (args[0], args[1]))
    return list(dict.fromkeys(found))


def test_every_built_in_string_has_a_spanish_translation():
    entries = po_entries()
    strings = built_in()
    assert len(strings) >= 45
    for key in strings:
        assert key in entries, f"not in django.po: {key}"
        msgstr, flags = entries[key]
        assert msgstr and msgstr != key[1], f"not translated: {key}"
        assert "fuzzy" not in flags, f"fuzzy: {key}"
        assert set(re.findall(r"%\(\w+\)s", msgstr)) == set(re.findall(r"%\(\w+\)s", key[1])), key
    assert set(entries) == set(strings), "django.po holds strings the handout no longer has"


def test_the_compiled_catalog_says_what_the_po_says():
    with (CATALOG / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    for (context, msgid), (msgstr, _) in po_entries().items():
        if context is None:
            assert catalog.gettext(msgid) == msgstr, msgid
        else:
            assert catalog.pgettext(context, msgid) == msgstr, msgid


def test_django_translates_every_built_in_string_to_spanish_and_keeps_english():
    entries = po_entries()
    for context, msgid in built_in():
        with translation.override("es"):
            spanish = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
        with translation.override("en"):
            english = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
        assert spanish == entries[(context, msgid)][0]
        assert english == msgid


@pytest.mark.parametrize(
    ("language", "written"),
    [("en", "Friday, December 4, 2026"), ("es", "viernes, 4 de diciembre de 2026")],
)
def test_dates_are_written_out_for_the_language(language, written):
    with translation.override(language):
        assert sheet.written(dt.date(2026, 12, 4)) == written


def test_the_rest_of_the_app_keeps_its_iso_dates():
    from django.template import engines

    template = engines["django"].from_string("{{ day }} {{ day|date }}")
    assert template.render({"day": dt.date(2026, 12, 4)}) == "2026-12-04 2026-12-04"
    assert translation.get_language() == "en-us"


def test_the_languages_asked_for(settings):
    assert [code for code, _ in settings.LANGUAGES] == list(wording.LANGUAGES)
    assert sheet.language_of("es-419") == "es" and sheet.language_of("pt") == "en"
    assert sheet.language_of(None) == "en"
