"""Everything the statistics page and the PDF report show: the rows, totals per period, and the charts."""

from __future__ import annotations

from dataclasses import dataclass, replace

from events_app.core.errors import N_
from events_app.core.i18n import LANGUAGES, gettext
from events_app.statistics import figures
from events_app.statistics.charts import Chart, bar_chart
from events_app.statistics.figures import MIN_GROUP, Query, Row
from events_app.statistics.files import kind_label


@dataclass(frozen=True)
class Report:
    query: Query
    rows: list[Row]
    totals: list[Row]
    overall: Row
    people_chart: Chart
    language_chart: Chart
    district_chart: Chart
    #: Invitees per district (receptions); no bars when nobody was invited in the period.
    invited_chart: Chart


async def build(query: Query, *, language: str, timezone: str) -> Report:
    rows = await figures.compute(query, timezone=timezone)
    totals = figures.totals(rows)
    overall = figures.totals([replace(r, period="all") for r in rows])
    overall_row = overall[0] if overall else Row("all", "all")
    fewer = gettext(language, N_("fewer than %(num)d"), num=MIN_GROUP)
    people = bar_chart([(f"{r.period} · {kind_label(r.kind, language)}", r.confirmed_people, str(r.confirmed_people))
                        for r in rows])
    languages = bar_chart([(LANGUAGES.get(code, code), count, str(count)) for code, count in
                           sorted(overall_row.languages.items(), key=lambda item: (-item[1], item[0]))])
    unknown = gettext(language, N_("unknown"))
    entries = overall_row.districts

    def per_district(count: str) -> Chart:
        """Bars of one count per district (`people` or `invited`), districts without any left out."""
        return bar_chart([(entry["district"] or unknown, entry[count],
                           str(entry[count]) if entry[count] is not None else fewer)
                          for entry in entries if entry[count] != 0])

    districts, invited = per_district("people"), per_district("invited")
    return Report(query, rows, totals, overall_row, people, languages, districts, invited)
