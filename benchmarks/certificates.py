"""Bulk certificates: 200 as one PDF and as a ZIP of single PDFs, against a floor from the same run.

Floor: WeasyPrint rendering 200 copies of a minimal one-page HTML as one document. Goal: the
single PDF of 200 certificates within 1.3 x the floor. A second reference, text-floor, renders the
certificates' own words as plain paragraphs (no fonts, images or styling): a certificate has about
ten lines of text where the floor has one word, and WeasyPrint's layout time grows with the text. Each measurement runs in its own process,
so its peak memory (ru_maxrss; "+MiB" is the rise during rendering) is its own. Modes run
interleaved and the run with the least CPU time counts. The measured path is the application's:
database reads, QR codes, Jinja and WeasyPrint, as the API endpoints run it.

    .venv/bin/python benchmarks/certificates.py [--count 200] [--repeat 3]
"""

from __future__ import annotations

import os
import sys

# this folder holds calendar.py, which must not hide the standard library's calendar module
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import asyncio
import json
import resource
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMES = ["Ayşe Yılmaz", "فاطمة الزهراء", "Олена Коваленко", "Nguyễn Thị Hương", "فاطمه رضایی", "Erika Mustermann",
         "Mehmet Öztürk", "Дмитро Шевченко"]


def _render_pids() -> list[int]:
    """The PDF render process(es) of `pdf.py`: WeasyPrint runs there, not in this process."""
    from events_app.core import pdf

    pool = pdf._pool
    return list(pool._processes) if pool is not None and pool._processes else []


def _render_cpu() -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in _render_pids():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return total


def _peak_mib() -> float:
    """Peak resident memory of this process plus the render process (Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    for pid in _render_pids():
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                peak += int(line.split()[1]) / 1024
    return peak


async def _prepare(database_url: str, count: int) -> int:
    from events_app.courses import attendance, certificates
    from events_app.core import db
    from events_app.seats.events import SessionSpec, create_event
    from events_app.core.models import EventKind, EventSession, Registration, RegistrationStatus
    from events_app.core.timeutil import utcnow

    await db.migrate(database_url)
    async with db.orm(database_url):
        start = utcnow().replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=60)
        event = await create_event(values={"kind": EventKind.COURSE, "title": "Interkulturelle Kompetenz",
                                           "capacity": count, "certificate_min_attendance": 75},
                                   sessions=[SessionSpec(start + timedelta(days=7 * i),
                                                         start + timedelta(days=7 * i, hours=3)) for i in range(4)])
        await certificates.save_template(event_id=event.id, values={
            "signer_name": "Erika Muster", "signer_role": "WIR-Koordination",
            "content_summary": "Kommunikation, Perspektivwechsel, Vielfalt in der Verwaltung"})
        sessions = await EventSession.filter(event_id=event.id)
        now = utcnow()
        for number in range(count):
            person = await Registration.create(
                event_id=event.id, name=f"{NAMES[number % len(NAMES)]} {number}", email=f"p{number}@giessen.de",
                status=RegistrationStatus.CONFIRMED, queued_at=now, manage_token=f"m{number}",
                checkin_token=f"c{number}")
            for session in sessions[:3]:
                await attendance.record(registration_id=person.id, session_id=session.id, present=True)
        issued = await certificates.issue_all(event_id=event.id)
        assert len(issued) == count
        return event.id


def _floor_html(count: int) -> str:
    return "<!doctype html><html><body>" + "".join(
        '<section style="break-after: page"><p>Certificate</p></section>' for _ in range(count)) + "</body></html>"


def _text_floor_html(pages) -> str:
    """The certificates' own words, one plain paragraph per line, default font, no image, no styling:
    what WeasyPrint needs for the text alone, to tell its layout cost from the application's."""
    from markupsafe import escape

    def lines(page, template):
        return [template.title, page.name, page.body, "Inhalte", template.content_summary, template.signer_name,
                template.signer_role, f"Bescheinigungsnummer: {page.serial}", "Diese Bescheinigung prüfen unter",
                page.verify_url]

    return "<!doctype html><html><body>" + "".join(
        '<section style="break-after: page">' + "".join(f"<p>{escape(line)}</p>" for line in lines(*page))
        + "</section>" for page in pages) + "</body></html>"


async def _measure(mode: str, database_url: str, event_id: int, count: int) -> dict:
    from events_app.courses import certificates
    from events_app.core import db, pdf
    from events_app.core.settings import Settings

    settings = Settings(database_url=database_url, secret_key="bench")
    async with db.orm(database_url):
        if mode == "pdf-svg-qr":  # the same certificates with the QR code as inline SVG, for comparison
            import segno
            from markupsafe import Markup

            certificates.qr_markup = lambda url: Markup(segno.make(url, error="m").svg_inline(scale=1, border=0))
        await pdf.render_pdf("<p>warm-up</p>")  # start the render process and load WeasyPrint, as a server has
        before = _peak_mib()
        started, cpu_started = time.perf_counter(), time.process_time() + _render_cpu()
        if mode == "floor":
            data = await pdf.render_pdf(_floor_html(count))
        elif mode == "text-floor":
            found = await certificates._valid_certificates_of(event_id)
            html = _text_floor_html(await certificates.pages_for(found, base_url=settings.base_url))
            started, cpu_started = time.perf_counter(), time.process_time() + _render_cpu()  # rendering only
            data = await pdf.render_pdf(html)
        elif mode in ("pdf", "pdf-svg-qr"):
            data = await certificates.render_event(event_id=event_id, settings=settings)
        elif mode == "zip":
            data = await certificates.render_event_zip(event_id=event_id, settings=settings)
        elif mode == "zip-n-documents":  # the alternative: one document per certificate, fonts config shared
            from weasyprint import HTML
            from weasyprint.text.fonts import FontConfiguration

            found = await certificates._valid_certificates_of(event_id)
            pages = await certificates.pages_for(found, base_url=settings.base_url)
            fonts = FontConfiguration()
            data = b"".join(await asyncio.to_thread(lambda: [
                HTML(string=certificates.certificate_html([page], settings=settings),
                     base_url=pdf.fonts_base_url()).write_pdf(font_config=fonts) for page in pages]))
        else:
            raise SystemExit(f"unknown mode {mode}")
        seconds, cpu = time.perf_counter() - started, time.process_time() + _render_cpu() - cpu_started
    return {"mode": mode, "seconds": seconds, "cpu": cpu, "bytes": len(data), "peak_mib": _peak_mib(),
            "extra_peak_mib": _peak_mib() - before}


def _run_child(mode: str, database_url: str, event_id: int, count: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--database", database_url,
                          "--event", str(event_id), "--count", str(count)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; the fastest counts")
    parser.add_argument("--no-alternatives", action="store_true", help="skip the SVG-QR and N-documents variants")
    parser.add_argument("--child")
    parser.add_argument("--database")
    parser.add_argument("--event", type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_measure(args.child, args.database, args.event, args.count))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite://{tmp}/bench.sqlite3"
        os.environ["EVENTS_VAR_DIR"] = tmp
        event_id = asyncio.run(_prepare(database_url, args.count))
        modes = ["floor", "text-floor", "pdf", "zip"] + ([] if args.no_alternatives else ["pdf-svg-qr", "zip-n-documents"])
        results: dict[str, dict] = {}
        for _ in range(args.repeat):  # interleaved, so a busy moment hurts every mode alike
            for mode in modes:
                result = _run_child(mode, database_url, event_id, args.count)
                if mode not in results or result["cpu"] < results[mode]["cpu"]:
                    results[mode] = result
    floor, floor_cpu = results["floor"]["seconds"], results["floor"]["cpu"]
    print(f"{args.count} certificates, best of {args.repeat} runs, each in its own process (cpus: {os.cpu_count()})")
    print("CPU seconds (this process and the PDF render process) are the figure that counts on a shared machine;"
          " wall for reference")
    print(f"{'mode':<18}{'cpu s':>8}{'x floor':>9}{'wall s':>8}{'x floor':>9}{'MiB out':>9}{'peak MiB':>10}{'+MiB':>7}")
    for mode in modes:
        r = results[mode]
        print(f"{mode:<18}{r['cpu']:>8.2f}{r['cpu'] / floor_cpu:>9.2f}{r['seconds']:>8.2f}{r['seconds'] / floor:>9.2f}"
              f"{r['bytes'] / 2**20:>9.2f}{r['peak_mib']:>10.0f}{r['extra_peak_mib']:>7.0f}")
    ratio = results["pdf"]["cpu"] / floor_cpu
    print(f"single PDF: {ratio:.2f} x floor in CPU time (goal <= 1.30): {'met' if ratio <= 1.3 else 'NOT met'}")
    text_ratio = results["pdf"]["cpu"] / results["text-floor"]["cpu"]
    print(f"single PDF: {text_ratio:.2f} x text-floor (the same words as plain paragraphs): what the application"
          " adds to WeasyPrint's own cost for this much text")

if __name__ == "__main__":
    main()
