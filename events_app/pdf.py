"""Edge: HTML -> PDF with WeasyPrint, off the event loop.

WeasyPrint is synchronous pure Python: 300 invitation letters take tens of seconds of CPU. In a
thread (`asyncio.to_thread`) it holds the GIL so much that the event loop stalls for up to a
second or more at a time (measured by benchmarks/letters.py), so the layout runs in a separate
process instead: the server keeps answering while a batch of letters is laid out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _render(html: str, base_url: str | None) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url).write_pdf()


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


async def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    pool = _executor()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, _render, html, base_url)
    except BrokenProcessPool:
        # the render process died (e.g. killed for memory): start a fresh one and try once more
        _discard(pool)
        return await asyncio.get_running_loop().run_in_executor(_executor(), _render, html, base_url)


async def run_in_render_process(function, *args):
    """Run other CPU-heavy preparation of a document (e.g. hundreds of QR codes) in the render process.

    `function` must be importable at module level (it is pickled by name).
    """
    return await asyncio.get_running_loop().run_in_executor(_executor(), function, *args)
