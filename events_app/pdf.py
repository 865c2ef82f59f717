"""Edge: HTML -> PDF with WeasyPrint, off the event loop.

WeasyPrint is synchronous pure Python: 300 invitation letters take tens of seconds of CPU. In a
thread (`asyncio.to_thread`) it holds the GIL so much that the event loop stalls for up to a
second or more at a time (measured by benchmarks/letters.py), so the layout runs in a separate
process instead: the server keeps answering while a batch of letters is laid out.

Bulk output is one document of many pages: WeasyPrint's fixed cost per document (fonts loaded,
subset and embedded once) dominates small pages, so N pages in one document are far cheaper than
N documents. Separate files (a ZIP of single certificates) are cut from that one layout. A long
run that should show its progress is laid out in parts (e.g. 25 letters each) whose pages are
written as one PDF: the render process notes each finished part in a file the server reads.
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

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
#: Seconds between two looks at a running layout's progress.
PROGRESS_INTERVAL = 0.5


def _render_parts(htmls: list[str], base_url: str | None, progress_file: str | None) -> bytes:
    """Lay out each document in turn, writing how many are done to `progress_file`, then write all pages."""
    from weasyprint import HTML

    documents = []
    for html in htmls:
        documents.append(HTML(string=html, base_url=base_url).render())
        if progress_file:
            partial = Path(f"{progress_file}.tmp")
            partial.write_text(str(len(documents)))
            partial.replace(progress_file)
    return documents[0].copy([page for document in documents for page in document.pages]).write_pdf()


def _render(html: str, base_url: str | None) -> bytes:
    return _render_parts([html], base_url, None)


def _split(html: str, base_url: str | None) -> list[bytes]:
    from weasyprint import HTML

    document = HTML(string=html, base_url=base_url).render()
    return [document.copy([page]).write_pdf() for page in document.pages]


def _lower_priority() -> None:
    """The render process yields the CPU to the web server: answering requests comes first."""
    try:
        os.nice(10)
    except OSError:
        pass


def _executor() -> ProcessPoolExecutor:
    """One render process, started on first use ('spawn': safe next to threads and the event loop)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_lower_priority)
        return _pool


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


async def render_pdf_parts(htmls: list[str], *, base_url: str | None = None,
                           progress: Callable[[int, int], None] | None = None) -> bytes:
    """One PDF from several HTML documents laid out in order, their pages joined.

    `progress(parts laid out, parts)` is told about every PROGRESS_INTERVAL while it runs. Each part
    pays WeasyPrint's fixed cost per document again, so parts should hold many pages each.
    """
    with tempfile.TemporaryDirectory(prefix="events-pdf-") as folder:
        progress_file = Path(folder) / "parts-done"
        job = asyncio.ensure_future(_in_render_process(_render_parts, htmls, base_url, str(progress_file)))
        while not job.done():
            await asyncio.wait({job}, timeout=PROGRESS_INTERVAL)
            if progress and progress_file.exists():
                progress(int(progress_file.read_text()), len(htmls))
        return job.result()


async def render_pages_separately(html: str, *, base_url: str | None = None,
                                  progress: Callable[[int, int], None] | None = None) -> list[bytes]:
    """Lay the document out once and return each page as its own PDF file.

    The pages are cut in the render process, so `progress(done, total)` is told only at the end.
    """
    files = await _in_render_process(_split, html, base_url)
    if progress:
        progress(len(files), len(files))
    return files


async def run_in_render_process(function, *args):
    """Run other CPU-heavy preparation of a document (e.g. hundreds of QR codes) in the render process.

    `function` must be importable at module level (it is pickled by name).
    """
    return await _in_render_process(function, *args)
