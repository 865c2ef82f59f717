"""Edge: HTML -> PDF with WeasyPrint, off the event loop.

WeasyPrint is synchronous pure Python: 300 invitation letters take tens of seconds of CPU. In a
thread (`asyncio.to_thread`) it holds the GIL so much that the event loop stalls for up to a
second or more at a time (measured by benchmarks/letters.py), so the layout runs in a separate
process instead: the server keeps answering while a batch of letters is laid out.

Bulk output is one document of many pages: WeasyPrint's fixed cost per document (fonts loaded,
subset and embedded once) dominates small pages, so N pages in one document are far cheaper than
N documents. Separate files (a ZIP of single certificates) are cut from that one layout.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _render(html: str, base_url: str | None) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url).write_pdf()


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
