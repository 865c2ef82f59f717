"""Placeholders in the organisers' texts ({deadline}, {name}, ...): filled, or nothing is produced.

A letter reading "Bitte antworten Sie bis , ob Sie kommen" went to several hundred people once; so
every document built from a text with placeholders (letters, certificates, in every language) goes
through `fill`, which refuses a placeholder it has no value for instead of leaving a gap.
"""

from __future__ import annotations

import re
from typing import Callable

from events_app.core import errors

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def missing(text: str, values: dict[str, str]) -> list[str]:
    """The placeholders in `text` that are unknown or would be filled with nothing."""
    return sorted({name for name in PLACEHOLDER.findall(text) if not str(values.get(name) or "").strip()})


def refuse(names: list[str], *, field: str = "body") -> errors.PlaceholderEmpty:
    shown = ", ".join("{%s}" % name for name in names)
    return errors.PlaceholderEmpty(fields={field: errors.PlaceholderEmpty.title}, placeholders=shown)


def check_values(values: dict[str, str], *, field: str = "body") -> None:
    """Values a layout prints itself (the deadline in the answer box, the code) must not be empty either."""
    empty = sorted(name for name, value in values.items() if not str(value or "").strip())
    if empty:
        raise refuse(empty, field=field)


def fill(text: str, values: dict[str, str], *, field: str = "body",
         wrap: Callable[[str, str], str] | None = None) -> str:
    """`text` with every {placeholder} replaced; PlaceholderEmpty if one has no value (nothing is filled)."""
    gaps = missing(text, values)
    if gaps:
        raise refuse(gaps, field=field)

    def value(match: re.Match) -> str:
        name, filled = match.group(1), str(values[match.group(1)])
        return wrap(name, filled) if wrap else filled

    return PLACEHOLDER.sub(value, text)
