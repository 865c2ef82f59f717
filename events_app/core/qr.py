"""QR codes, the one way the app draws them: SVG for pages, PNG for mail and PDFs.

The mask is fixed (pattern 0): every reader decodes any mask, and choosing the best of eight costs
segno about 5 ms a code, as much as WeasyPrint needs for a whole certificate page. The PNG is
written here from segno's matrix with zlib, a third of the time segno's own PNG writer takes.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib

import segno


def svg(data: str) -> str:
    """A QR code as inline SVG markup (no external request, works under the strict CSP)."""
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True, border=2)
    return out.getvalue().decode()


def png(data: str, *, scale: int = 5, border: int = 4) -> bytes:
    """A QR code as an 8-bit grey PNG (mail programs block SVG and data: images)."""
    matrix = segno.make(data, error="m", mask=0).matrix
    dark, light = b"\x00" * scale, b"\xff" * scale
    quiet = light * border
    blank_row = b"\x00" + light * (len(matrix) + 2 * border)  # each row starts with filter type 0
    rows = [blank_row] * (border * scale)
    for modules in matrix:
        rows += [b"\x00" + quiet + b"".join(dark if module else light for module in modules) + quiet] * scale
    rows += [blank_row] * (border * scale)
    side = (len(matrix) + 2 * border) * scale
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(b"".join(rows))) + _png_chunk(b"IEND", b""))


def png_data_uri(data: str, *, scale: int = 1, border: int = 0) -> str:
    """By default one pixel per module, no quiet zone, for PDFs: printed sharp because the templates ask
    for `image-rendering: pixelated`; a PNG lays out far faster than the same code as SVG in WeasyPrint.
    Pages on a phone screen ask for a larger scale and a quiet zone, so any scanner reads them."""
    return "data:image/png;base64," + base64.b64encode(png(data, scale=scale, border=border)).decode()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
