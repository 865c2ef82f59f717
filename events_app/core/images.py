"""Images that people upload (certificate logos and signatures): checked by their content on every path
that stores them, because each is embedded in PDFs that WeasyPrint lays out.

Only PNG and JPEG: an SVG may reference other URLs or local files, which the renderer would fetch.
"""

from __future__ import annotations

import base64
import binascii
import io
import re

from events_app.core.errors import N_

MAX_IMAGE_BYTES = 300_000
#: Largest width or height in pixels (a logo printed 5 cm wide needs no more than ~600).
MAX_IMAGE_SIDE = 4000
MAX_IMAGE_PIXELS = 8_000_000
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
_DATA_URI = re.compile(r"data:(?P<media>image/(?:png|jpeg));base64,(?P<data>[A-Za-z0-9+/=\s]+)", re.ASCII)
ALLOWED_MEDIA = tuple(_SIGNATURES.values())


def checked_image(data: bytes) -> str:
    """The media type of an acceptable image, or ValueError with a message id: PNG or JPEG by content,
    at most MAX_IMAGE_BYTES, MAX_IMAGE_SIDE pixels a side, and one that decodes."""
    media = next((media for magic, media in _SIGNATURES.items() if data.startswith(magic)), None)
    if media is None:
        raise ValueError(N_("Please choose a PNG or JPEG image."))
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(N_("The image is too large: at most %(kilobytes)d KB."))
    from PIL import Image  # comes with WeasyPrint

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if image.format not in ("PNG", "JPEG"):
                raise ValueError(N_("Please choose a PNG or JPEG image."))
            if max(width, height) > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
                raise ValueError(N_("The image has too many pixels: at most %(side)d on each side."))
            image.verify()
    except (OSError, SyntaxError, Image.DecompressionBombError):
        raise ValueError(N_("Please choose a PNG or JPEG image.")) from None
    return media


def image_data_uri(data: bytes) -> str:
    """An acceptable image as a data: URI of its real type."""
    media = checked_image(data)
    return f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"


def checked_data_uri(value: str) -> str:
    """A data: URI given through the API, decoded and checked like an upload (the declared type must match
    the content); ValueError with a message id otherwise."""
    match = _DATA_URI.fullmatch(value.strip())
    if match is None:
        raise ValueError(N_("Please give a PNG or JPEG image as a data: URI."))
    try:
        data = base64.b64decode(re.sub(r"\s", "", match["data"]), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(N_("Please give a PNG or JPEG image as a data: URI.")) from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(N_("The image is too large: at most %(kilobytes)d KB."))
    if checked_image(data) != match["media"]:
        raise ValueError(N_("Please give a PNG or JPEG image as a data: URI."))
    return image_data_uri(data)
