"""The PDF edge: HTML to PDF with WeasyPrint, always in a worker thread, never on the event loop.

Bulk output is one document of many pages: WeasyPrint's fixed cost per document (fonts loaded,
subset and embedded once) dominates small pages, so N pages in one document are far cheaper
than N documents. Separate files (a ZIP of single certificates) are cut from that one layout:
the HTML is laid out once and each page is written on its own (`render_pages_separately`).
"""

from __future__ import annotations

import asyncio
from typing import Callable

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration


def _write(html: str, base_url: str | None) -> bytes:
    return HTML(string=html, base_url=base_url).write_pdf(font_config=FontConfiguration())


async def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """One PDF from one HTML document (as many pages as it lays out to)."""
    return await asyncio.to_thread(_write, html, base_url)


def _split(html: str, base_url: str | None, progress: Callable[[int, int], None] | None) -> list[bytes]:
    document = HTML(string=html, base_url=base_url).render(font_config=FontConfiguration())
    total = len(document.pages)
    files = []
    for number, page in enumerate(document.pages, start=1):
        files.append(document.copy([page]).write_pdf())
        if progress:
            progress(number, total)
    return files


async def render_pages_separately(html: str, *, base_url: str | None = None,
                                  progress: Callable[[int, int], None] | None = None) -> list[bytes]:
    """Lay the document out once and return each page as its own PDF file.

    `progress(done, total)` is called from the worker thread after each page.
    """
    return await asyncio.to_thread(_split, html, base_url, progress)
