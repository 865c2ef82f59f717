"""Invitation letters: 300 letters as one PDF, and how responsive the event loop stays meanwhile.

Run: .venv/bin/python benchmarks/letters.py [--letters 300]

Figures, each against a baseline from the same run:
- one document of N letters vs N single-letter documents (extrapolated from a sample of 10), and vs
  parts of 25 letters (how the background job lays them out to show its progress);
- the event loop's worst delay of a 10 ms ticker while the PDF is laid out vs while idle, and vs
  laying it out in a thread of the server process (asyncio.to_thread).
"""

from __future__ import annotations

import os
import sys

# this folder holds calendar.py, which must not hide the standard library's calendar module
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from events_app.core import db, pdf  # noqa: E402
from events_app.receptions import list_files, invitee_import, letters  # noqa: E402
from events_app.core.settings import Settings  # noqa: E402
from tests.helpers import in_days, make_event  # noqa: E402


async def ticker(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - started - 0.01)


async def worst_lag_during(coro) -> tuple[float, float, object]:
    stop, lags = asyncio.Event(), []
    task = asyncio.create_task(ticker(stop, lags))
    started = time.perf_counter()
    result = await coro
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    return elapsed, max(lags or [0.0]), result


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite://{tmp}/bench.sqlite3"
        await db.migrate(url)
        async with db.orm(url):
            event = await make_event(kind="reception", audience="invitation", title="Einbürgerungsempfang",
                                     capacity=count * 3, max_companions=2, registration_closes_at=in_days(20))
            lines = ["Aktenzeichen;Anrede;Vorname;Nachname;Straße;PLZ;Ort"]
            lines += [f"EB-{n:05d};Frau;Vorname{n};Nachname{n};Musterstraße {n};35390;Gießen" for n in range(count)]
            await invitee_import.import_invitations(event_id=event.id,
                                                 table=list_files.read_table("\r\n".join(lines).encode("cp1252")))
            settings = Settings(database_url=url, var_dir=Path(tmp))
            await pdf.render_pdf("<p>warm up</p>")  # start the render process, load fonts

            idle, idle_lag, _ = await worst_lag_during(asyncio.sleep(1.0))
            prepare, prepare_lag, ([html], pages) = await worst_lag_during(
                letters.letters_html(event_id=event.id, settings=settings, everyone=True, per_part=count))
            one_doc, busy_lag, content = await worst_lag_during(pdf.render_pdf(html))
            parts, _ = await letters.letters_html(event_id=event.id, settings=settings, everyone=True)
            reports: list[int] = []
            in_parts, parts_lag, _ = await worst_lag_during(
                pdf.render_pdf_parts(parts, progress=lambda done, total: reports.append(done)))
            # the same in a thread of this process (asyncio.to_thread), for comparison
            in_thread, thread_lag, _ = await worst_lag_during(asyncio.to_thread(pdf._render, html, None))

            # the same letters rendered one document each, sampled and extrapolated
            sample = 10
            head, _, rest = html.partition('<section class="letter">')
            sections = rest.split('<section class="letter">')
            tail = "</body>"
            started = time.perf_counter()
            for section in sections[:sample]:
                single = head + '<section class="letter">' + section.split("</body>")[0] + tail + "</html>"
                await pdf.render_pdf(single)
            singles = (time.perf_counter() - started) / sample * pages

    print(f"letters: {pages}; HTML with QR codes in {prepare:.2f} s, one PDF of {len(content) / 1024:.0f} KiB "
          f"in {one_doc:.2f} s ({one_doc / pages * 1000:.1f} ms per letter)")
    print(f"one document vs one document per letter (extrapolated {singles:.2f} s): {singles / one_doc:.2f}x faster")
    print(f"in {len(parts)} parts of {letters.LETTERS_PER_PART} letters (the background job, showing progress): "
          f"{in_parts:.2f} s ({in_parts / one_doc:.2f}x one document), {len(set(reports))} distinct progress "
          f"reports, event loop worst delay {parts_lag * 1000:.1f} ms")
    print(f"event loop worst delay: idle {idle_lag * 1000:.1f} ms, preparing {prepare_lag * 1000:.1f} ms "
          f"({prepare_lag / max(idle_lag, 1e-4):.1f}x idle), rendering {busy_lag * 1000:.1f} ms "
          f"({busy_lag / max(idle_lag, 1e-4):.1f}x idle)")
    print(f"rendering in a thread instead: {in_thread:.2f} s, event loop worst delay {thread_lag * 1000:.1f} ms "
          f"({thread_lag / max(busy_lag, 1e-4):.1f}x the separate process)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--letters", type=int, default=300)
    asyncio.run(main(parser.parse_args().letters))
