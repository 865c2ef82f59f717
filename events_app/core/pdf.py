"""Edge: HTML -> PDF with WeasyPrint, off the event loop.

WeasyPrint is synchronous pure Python: 300 invitation letters take tens of seconds of CPU. In a
thread (`asyncio.to_thread`) it holds the GIL so much that the event loop stalls for up to a
second or more at a time (measured by benchmarks/letters.py), so the layout runs in a separate
process instead: the server keeps answering while a batch of letters is laid out.

Bulk output is one document of many pages: WeasyPrint's fixed cost per document (fonts loaded,
subset and embedded once) dominates small pages, so N pages in one document are far cheaper than
N documents. Separate files (a ZIP of single certificates) are cut from that one layout. A long
run that should show its progress is laid out in parts (e.g. 25 letters each) whose pages are
written as one PDF (or cut into files): the render process notes each finished part, and each
file cut, in a file the server reads.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from events_app.core.settings import STATIC_DIR

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
#: Seconds between two looks at a running layout's progress.
PROGRESS_INTERVAL = 0.5


def fonts_base_url() -> str:
    """The base URL for PDF templates: the fonts shipped under static/ are referenced as fonts/<file>."""
    from events_app.core.settings import STATIC_DIR

    return STATIC_DIR.as_uri() + "/"


def _note(progress_file: str | None, step: str, done: int, total: int) -> None:
    """Tell the server how far a step is (read by `_watched`); one file per step, so none is missed."""
    if progress_file:
        partial = Path(f"{progress_file}.{step}.tmp")
        partial.write_text(f"{done} {total}")
        partial.replace(f"{progress_file}.{step}")


#: The only data: URLs a document may use (QR codes, logos, signatures); never SVG, which can reference more.
ALLOWED_DATA_TYPES = ("image/png", "image/jpeg")


def refused_url(url: str) -> bool:
    """Whether the renderer must not open `url`: everything but the project's own static files (fonts,
    style sheets) and data: URLs of PNG or JPEG images. No network, no other local file."""
    if url.startswith("data:"):
        media = url[5:].split(",", 1)[0].split(";", 1)[0].strip().lower()
        return media not in ALLOWED_DATA_TYPES
    if url.startswith("file:"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return True
        path = Path(unquote(parts.path)).resolve()
        return not (path.is_file() and path.is_relative_to(STATIC_DIR.resolve()))
    return True


def url_fetcher():
    """WeasyPrint's fetcher restricted by `refused_url`: a refused resource is left out of the page."""
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if refused_url(url):
                raise ValueError(f"not fetched: {url[:80]}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols=("data", "file"), allow_redirects=False)


def _lay_out(htmls: list[str], base_url: str | None, progress_file: str | None) -> list:
    from weasyprint import HTML

    documents = []
    fetcher = url_fetcher()
    for html in htmls:
        documents.append(HTML(string=html, base_url=base_url, url_fetcher=fetcher).render())
        _note(progress_file, "layout", len(documents), len(htmls))
    return documents


def _render_parts(htmls: list[str], base_url: str | None, progress_file: str | None) -> bytes:
    """Lay out each document in turn, noting how many are done, then write all pages as one PDF."""
    documents = _lay_out(htmls, base_url, progress_file)
    return documents[0].copy([page for document in documents for page in document.pages]).write_pdf()


def _render(html: str, base_url: str | None) -> bytes:
    return _render_parts([html], base_url, None)


def _split(htmls: list[str], base_url: str | None, progress_file: str | None) -> list[bytes]:
    """Lay out each document in turn, then write every page as its own PDF, noting both steps."""
    documents = _lay_out(htmls, base_url, progress_file)
    pages = [(document, page) for document in documents for page in document.pages]
    files = []
    for document, page in pages:
        files.append(document.copy([page]).write_pdf())
        _note(progress_file, "cut", len(files), len(pages))
    return files


def _lower_priority() -> None:
    """The render process yields the CPU to the web server: answering requests comes first. It also asks
    Linux to end it when its parent dies, so a killed server never leaves a render process behind."""
    try:
        os.nice(10)
    except OSError:
        pass
    try:
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the server's shutdown still ends it
        pass


def _executor() -> ProcessPoolExecutor:
    """One render process, started on first use ('spawn': safe next to threads and the event loop)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_lower_priority)
        return _pool


def shutdown() -> None:
    """End the render process (the server's shutdown calls this after the last request was answered)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is None:
        return
    processes = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


async def _in_render_process(function, *args):
    pool = _executor()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
    except BrokenProcessPool:
        # the render process died (e.g. killed for memory): start a fresh one and try once more
        _discard(pool)
        return await _in_render_process(function, *args)


async def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """One PDF from one HTML document (as many pages as it lays out to)."""
    return await _in_render_process(_render, html, base_url)


Progress = Callable[[int, int], None]


async def _watched(function, htmls: list[str], base_url: str | None, reports: dict[str, Progress | None]):
    """Run `function(htmls, base_url, progress_file)` in the render process, passing what it notes to
    `reports[step](done, total)` about every PROGRESS_INTERVAL: each change once, the steps in order."""
    with tempfile.TemporaryDirectory(prefix="events-pdf-") as folder:
        progress_file = Path(folder) / "progress"
        job = asyncio.ensure_future(_in_render_process(function, htmls, base_url, str(progress_file)))
        told: dict[str, str] = {}
        while not job.done():
            await asyncio.wait({job}, timeout=PROGRESS_INTERVAL)
            for step, report in reports.items():
                noted = Path(f"{progress_file}.{step}")
                if report and noted.exists() and told.get(step) != (text := noted.read_text()):
                    told[step] = text
                    report(*map(int, text.split()))
        return job.result()


async def render_pdf_parts(htmls: list[str], *, base_url: str | None = None,
                           progress: Progress | None = None) -> bytes:
    """One PDF from several HTML documents laid out in order, their pages joined.

    `progress(parts laid out, parts)` is told at the start and about every PROGRESS_INTERVAL while it
    runs. Each part pays WeasyPrint's fixed cost per document again, so parts should hold many pages each.
    """
    if progress:
        progress(0, len(htmls))
    return await _watched(_render_parts, htmls, base_url, {"layout": progress})


async def render_pages_separately(htmls: list[str], *, base_url: str | None = None,
                                  progress: Progress | None = None, cutting: Progress | None = None) -> list[bytes]:
    """Lay the documents out (as `render_pdf_parts`, telling `progress`) and return each page as its own
    PDF file, telling `cutting(files written, files)` as they are written."""
    if progress:
        progress(0, len(htmls))
    return await _watched(_split, htmls, base_url, {"layout": progress, "cut": cutting})


def per_item(progress: Callable[..., None], per_part: int, items: int) -> Progress:
    """A progress callback for parts of `per_part` items that tells `progress(items done, items)`."""
    return lambda parts_done, _parts: progress(min(items, parts_done * per_part), items)


async def run_in_render_process(function, *args):
    """Run other CPU-heavy preparation of a document (e.g. hundreds of QR codes) in the render process.

    `function` must be importable at module level (it is pickled by name).
    """
    return await _in_render_process(function, *args)
