"""Which message ids lack a translation: extracts fresh from the code and templates, compares with the catalogs.

    python -m events_app.core.i18n_check          # lists gaps per language, exit status 1 if any
    python -m events_app.core.i18n_check --pot    # writes events_app/translations/messages.pot
    python -m events_app.core.i18n_check --fill-english   # English msgstr := msgid where empty

Extraction follows babel.cfg and the keywords below, the same as `make messages` (pybabel).
English is a catalog too: its msgstr repeats the msgid, so a missing English entry is a gap as well.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from events_app.core.i18n import DOMAIN, LANGUAGES, TRANSLATIONS_DIR

PROJECT_ROOT = TRANSLATIONS_DIR.parent.parent
MAPPING_FILE = PROJECT_ROOT / "babel.cfg"
POT_FILE = TRANSLATIONS_DIR / f"{DOMAIN}.pot"

#: gettext keywords besides Babel's defaults: N_("...") marks, i18n.gettext(language, "...", **params)
#: and i18n.ngettext(language, "one", "many", n, **params), whose messages come after the language (the
#: `t` spec counts all arguments, keyword ones included; templates' _() and ngettext() keep the defaults).
#: The Makefile passes the same list to pybabel.
KEYWORDS = ["N_", "gettext", *(f"gettext:2,{n}t" for n in range(2, 7)),
            "ngettext:1,2", *(f"ngettext:2,3,{n}t" for n in range(4, 8))]


@dataclass(frozen=True)
class Gap:
    language: str
    msgid: str
    reason: str  # "missing" (not in the catalog), "untranslated" (empty msgstr) or "fuzzy"

    def __str__(self) -> str:
        return f"{self.language}: {self.reason}: {self.msgid!r}"


def extract(root: Path = PROJECT_ROOT) -> Catalog:
    """Every message id in the code and templates, as a fresh template catalog."""
    with MAPPING_FILE.open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping, filename=str(MAPPING_FILE))
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update(parse_keywords(KEYWORDS))
    catalog = Catalog(project="events_app", domain=DOMAIN, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root), method_map, options_map, keywords=keywords, comment_tags=("Translators:",),
            strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalog(language: str) -> Catalog | None:
    path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return None
    with path.open("rb") as po_file:
        return read_po(po_file, locale=language)


def _msgid_text(msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def gaps(template: Catalog | None = None, languages=tuple(LANGUAGES)) -> list[Gap]:
    """Message ids of `template` (default: fresh extraction) without a usable translation, per language."""
    template = template if template is not None else extract()
    found: list[Gap] = []
    for language in languages:
        catalog = read_catalog(language)
        for message in template:
            if not message.id:
                continue
            text = _msgid_text(message.id)
            translated = catalog.get(message.id, context=message.context) if catalog is not None else None
            if translated is None:
                found.append(Gap(language, text, "missing"))
            elif translated.fuzzy:
                found.append(Gap(language, text, "fuzzy"))
            else:
                strings = translated.string if isinstance(translated.string, (tuple, list)) else (translated.string,)
                if not all(strings):
                    found.append(Gap(language, text, "untranslated"))
    return found


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def placeholder_mismatches(languages=tuple(LANGUAGES)) -> list[str]:
    """Translations whose %(name)s parameters differ from the msgid's.

    An unknown name would raise KeyError when the page renders; a dropped one loses information.
    Plural forms may leave out %(num)d ("one seat"), never add names.
    """
    problems: list[str] = []
    for language in languages:
        catalog = read_catalog(language)
        if catalog is None:
            continue
        for message in catalog:
            if not message.id or not message.string:
                continue
            if isinstance(message.id, (tuple, list)):
                allowed = set(_PLACEHOLDER.findall(message.id[-1])) | {"num"}
                for form in message.string:
                    if form and not set(_PLACEHOLDER.findall(form)) <= allowed:
                        problems.append(f"{language}: {form!r} uses names not in {message.id[-1]!r}")
            elif set(_PLACEHOLDER.findall(message.string)) != set(_PLACEHOLDER.findall(message.id)):
                problems.append(f"{language}: {message.string!r} does not match the parameters of {message.id!r}")
    return problems


def write_pot(path: Path = POT_FILE) -> None:
    catalog = extract()
    with path.open("wb") as pot:
        write_po(pot, catalog, omit_header=False, sort_output=True, width=100, include_lineno=False)


def fill_english() -> int:
    """English msgids are the English text: copy them into empty English entries. Returns how many."""
    path = TRANSLATIONS_DIR / "en" / "LC_MESSAGES" / f"{DOMAIN}.po"
    catalog = read_catalog("en")
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, (tuple, list)):
            if not all(message.string or ()):
                message.string = tuple(message.id)
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
        message.flags.discard("fuzzy")
    with path.open("wb") as po_file:
        write_po(po_file, catalog, width=100, include_lineno=False)
    return filled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pot", action="store_true", help="write the template catalog messages.pot")
    parser.add_argument("--fill-english", action="store_true", help="copy msgids into empty English entries")
    args = parser.parse_args(argv)
    if args.pot:
        write_pot()
        return 0
    if args.fill_english:
        print(f"{fill_english()} English entries filled")
        return 0
    found = gaps()
    for gap in found:
        print(gap)
    for problem in placeholder_mismatches():
        print(problem)
    if found or placeholder_mismatches():
        print(f"{len(found)} message(s) without translation", file=sys.stderr)
        return 1
    print("every message has a translation in " + ", ".join(LANGUAGES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
