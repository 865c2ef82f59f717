"""Every message id in the code and templates has a translation in all six catalogs.

Extraction runs fresh (Babel's API with babel.cfg), so a string added anywhere without
translations fails here; `python -m events_app.i18n_check` lists the gaps, `make messages` adds
the new ids to the catalogs.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from events_app.core import i18n, i18n_check
from events_app.core.i18n import LANGUAGES


@pytest.fixture(scope="module")
def extracted():
    return i18n_check.extract()


def test_extraction_finds_strings_from_python_and_templates(extracted):
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extracted if m.id}
    assert "This event is fully booked and has no waiting list." in ids  # errors.py, N_()
    assert "Please enter a whole number." in ids  # web/forms.py, N_()
    assert "Skip to content" in ids  # templates/base.html, _()
    plurals = {m.id for m in extracted if isinstance(m.id, tuple)}
    assert ("Date", "Dates") in plurals  # ngettext in templates keeps both forms


def test_every_message_has_a_translation_in_every_language(extracted):
    gaps = i18n_check.gaps(extracted)
    assert not gaps, "\n".join(map(str, gaps))


def test_translations_keep_the_parameters_of_their_message():
    problems = i18n_check.placeholder_mismatches()
    assert not problems, "\n".join(problems)


def test_the_check_reports_a_new_string_without_translation(tmp_path: Path, monkeypatch):
    """Negative control: a template with an untranslated string shows up as a gap in every language."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "new.html").write_text('<p>{{ _("A sentence nobody translated yet.") }}</p>')
    (tmp_path / "events_app").mkdir()
    (tmp_path / "events_app" / "new.py").write_text(
        'from events_app import i18n\n'
        'x = i18n.gettext(lang, "Another new sentence.", n=1)\n'
        'y = i18n.ngettext(lang, "%(num)d new seat", "%(num)d new seats", 2, place=p)\n')
    template = i18n_check.extract(tmp_path)
    gaps = i18n_check.gaps(template)
    assert {(g.language, g.msgid) for g in gaps} == {
        (lang, msgid) for lang in LANGUAGES
        for msgid in ("A sentence nobody translated yet.", "Another new sentence.", "%(num)d new seat")}


def test_the_makefile_extracts_with_the_same_keywords():
    makefile = (i18n_check.PROJECT_ROOT / "Makefile").read_text()
    definition = re.search(r"^BABEL_KEYWORDS :=((?:.*\\\n)*.*)$", makefile, re.M).group(1)
    assert re.findall(r"-k (\S+)", definition) == i18n_check.KEYWORDS


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_catalogs_compile_and_translate(language):
    text = i18n.gettext(language, "Skip to content")
    expected = {"de": "Zum Inhalt springen", "en": "Skip to content", "ar": "انتقل إلى المحتوى",
                "tr": "İçeriğe geç", "uk": "Перейти до змісту", "fa": "رفتن به محتوا"}
    assert text == expected[language]


def test_plural_forms_follow_each_language():
    assert i18n.ngettext("de", "%(num)d date", "%(num)d dates", 1) == "1 Termin"
    assert i18n.ngettext("uk", "%(num)d date", "%(num)d dates", 3) == "3 дати"
    assert i18n.ngettext("uk", "%(num)d date", "%(num)d dates", 5) == "5 дат"
    assert i18n.ngettext("ar", "%(num)d date", "%(num)d dates", 2) == "موعدان"
    assert i18n.ngettext("ar", "%(num)d date", "%(num)d dates", 11) == "11 موعدًا"


def test_german_dates_are_written_the_german_way():
    fmt = i18n.Formatter("de", "Europe/Berlin")
    start = datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)
    end = datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc)
    assert fmt.datetime(start) == "24.11.2026, 18:00 Uhr"
    assert fmt.span(start, end) == "24.11.2026, 18:00–20:00 Uhr"
    assert fmt.number(1234) == "1.234"
    summer = datetime(2027, 7, 1, 16, 30, tzinfo=timezone.utc)
    assert fmt.datetime(summer) == "01.07.2027, 18:30 Uhr"


def test_lists_and_date_spans_are_joined_as_each_language_joins_them():
    """A stand's needs and a date with its hours: the Arabic comma and "و" in Arabic, "und" in German."""
    assert i18n.format_list(["Tisch", "Strom", "Zelt"], "de") == "Tisch, Strom und Zelt"
    assert i18n.format_list(["طاولة", "كهرباء"], "ar") == "طاولة وكهرباء"
    assert i18n.format_list(["Masa", "", "Elektrik"], "tr") == "Masa ve Elektrik" and i18n.format_list([], "de") == ""
    start = datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)
    end = datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc)
    arabic = i18n.Formatter("ar", "Europe/Berlin").span(start, end)
    assert "، " in arabic and ", " not in arabic
    assert ", " in i18n.Formatter("en", "Europe/Berlin").span(start, end)
