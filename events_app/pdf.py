"""Edge: HTML -> PDF with WeasyPrint, off the event loop (rendering takes long and blocks)."""

from __future__ import annotations

import asyncio


def _render(html: str, base_url: str | None) -> bytes:
    from weasyprint import HTML  # imported late: loading WeasyPrint takes a moment

    return HTML(string=html, base_url=base_url).write_pdf()


async def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    return await asyncio.to_thread(_render, html, base_url)
