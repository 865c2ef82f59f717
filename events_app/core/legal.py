"""The facts the accessibility statement and the privacy notice publish, from environment variables.

A German public body must name who runs the site, how to reach them, how far the site meets
BITV 2.0 / HVBIT (WCAG 2.1 AA), what is not accessible yet, how to report a barrier, the
enforcement procedure, and, for data protection, the controller, the data protection officer,
purposes, legal bases and the supervisory authority (the retention period is the setting
EVENTS_RETENTION_DAYS, the same number the retention job uses). The fixed wording is in the
templates (translated); these values are the parts each installation states for itself. They are
read on every request, so a changed environment shows after a restart without a rebuild.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from datetime import date
from typing import Mapping

#: Whether the site meets the requirements: "full", "partial" or "none" (the three wordings of the statement).
COMPLIANCE_LEVELS = ("full", "partial", "none")


@dataclass(frozen=True)
class LegalInfo:
    operator: str = "Universitätsstadt Gießen, Büro für Integration"
    address: str = "Berliner Platz 1, 35390 Gießen"
    email: str = "integration@giessen.de"
    phone: str = "0641 306-0"
    #: When the office answers the phone and receives visitors (printed on letters, shown where people get stuck).
    opening_hours: str = "Mo–Fr 9:00–12:00 Uhr, Do 14:00–17:00 Uhr"
    #: The data protection officer (Datenschutzbeauftragte/r) of the operator.
    dpo: str = "Datenschutzbeauftragte der Universitätsstadt Gießen, Berliner Platz 1, 35390 Gießen, datenschutz@giessen.de"
    compliance: str = "partial"
    #: Known barriers, one per line (in German; shown as given).
    known_issues: str = ("Angehängte PDF-Dokumente (Briefe, Bescheinigungen) sind noch nicht vollständig "
                         "als barrierefreie PDF/UA-Dokumente ausgezeichnet.")
    #: When the statement was made or last reviewed, and how (ISO date, method).
    reviewed_on: str = "2026-11-24"
    review_method: str = "Selbstbewertung mit automatischen Tests (axe-core) und Tests mit der Tastatur"
    enforcement_body: str = ("Durchsetzungs- und Überwachungsstelle barrierefreie IT des Landes Hessen "
                             "beim Regierungspräsidium Gießen")
    enforcement_url: str = "https://lbit.hessen.de/Durchsetzungs-und-Ueberwachungsstelle/Durchsetzungsverfahren-beantragen"
    supervisory_authority: str = ("Der Hessische Beauftragte für Datenschutz und Informationsfreiheit (HBDI), "
                                  "Gustav-Stresemann-Ring 1, 65189 Wiesbaden")
    supervisory_url: str = "https://datenschutz.hessen.de"

    @property
    def reviewed_date(self) -> date | None:
        try:
            return date.fromisoformat(self.reviewed_on)
        except ValueError:
            return None

    @property
    def known_issue_lines(self) -> list[str]:
        return [line.strip() for line in self.known_issues.splitlines() if line.strip()]


#: Field name -> environment variable.
ENV_NAMES = {f.name: f"EVENTS_LEGAL_{f.name.upper()}" for f in fields(LegalInfo)}


def current(environ: Mapping[str, str] | None = None) -> LegalInfo:
    """The published facts: defaults for Gießen, each overridden by EVENTS_LEGAL_<FIELD>."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    for f in fields(LegalInfo):
        raw = environ.get(ENV_NAMES[f.name])
        if raw is None:
            continue
        raw = raw.replace("\\n", "\n")
        if f.name == "compliance":
            if raw.strip() in COMPLIANCE_LEVELS:
                values[f.name] = raw.strip()
        else:
            values[f.name] = raw.strip()
    return LegalInfo(**values)
