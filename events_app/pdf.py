"""Edge: HTML -> PDF with WeasyPrint, off the event loop.

WeasyPrint is synchronous and takes seconds for hundreds of pages, so it runs in a worker
thread: the server keeps answering requests while a batch of letters is laid out.
"""

from __future__ import annotations

import asyncio


def _render(html: str, base_url: str | None) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url).write_pdf()


async def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    return await asyncio.to_thread(_render, html, base_url)
