"""PDF rendering fetches nothing: logos are checked by content on every path that stores them, and the
renderer opens only the project's static files and data: URLs of PNG/JPEG images."""

from __future__ import annotations

import base64
import http.server
import io
import threading

import pytest
from PIL import Image

from events_app.core import pdf
from events_app.core.models import CertificateTemplate
from events_app.courses import certificates
from tests.fixtures_courses import attend, confirmed, make_course, pdf_text
from tests.helpers import make_user


def png(width: int = 4, height: int = 4) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def local_server():
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.end_headers()
            self.wfile.write(png())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def svg_referencing(url: str) -> str:
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" '
           f'height="10"><image href="{url}/svg-image.png" xlink:href="{url}/svg-image.png" width="10" height="10"/>'
           f'<image href="file:///etc/passwd" width="10" height="10"/></svg>')
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


async def test_svg_logo_is_refused_and_rendering_requests_nothing(client, db, settings, tmp_path, local_server,
                                                                   pdftotext_available):
    base, seen = local_server
    # the server answers: a fetcher that asked would have been served
    import urllib.request
    assert urllib.request.urlopen(f"{base}/probe").status == 200 and seen == ["/probe"]
    seen.clear()
    event, sessions = await make_course(dates=1, title="Schwimmkurs")
    person = await confirmed(event, "Erika Muster")
    await attend(person, sessions, 1)
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}"}
    url = f"/api/v1/events/{event.id}/certificate-template"
    bad_images = [svg_referencing(base), f"{base}/logo.png", "file:///etc/passwd",
                  "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nnot really").decode(),
                  "data:image/png;base64," + base64.b64encode(png(5000, 10)).decode(),
                  "data:image/jpeg;base64," + base64.b64encode(png()).decode()]
    for image in bad_images:
        response = await client.put(url, json={"title": "Teilnahme", "logo": image}, headers=auth)
        assert response.status_code == 422 and "logo" in response.json()["errors"], image[:40]
    assert await CertificateTemplate.filter(event_id=event.id).count() == 0  # nothing partial stored
    good = await client.put(url, json={"title": "Teilnahme", "logo": "data:image/png;base64,"
                                       + base64.b64encode(png()).decode()}, headers=auth)
    assert good.status_code == 200
    # an SVG stored before the check (old data) is left out of the certificate, and nothing is fetched
    await CertificateTemplate.filter(event_id=event.id).update(logo=svg_referencing(base),
                                                                signature=f"{base}/signature.png")
    certificate = await certificates.issue(registration_id=person.id)
    text = pdf_text(await certificates.render_one(certificate=certificate, settings=settings), tmp_path)
    assert "Erika Muster" in text
    # and the renderer itself refuses every URL but static files and PNG/JPEG data:
    html = (f'<html><head><link rel="stylesheet" href="{base}/style.css"></head><body>'
            f'<p>Hallo</p><img src="{base}/img.png"><img src="{svg_referencing(base)}">'
            f'<img src="file:///etc/passwd"><iframe src="file:///etc/hostname"></iframe>'
            f'<object data="{base}/object"></object><div style="background: url({base}/bg.png)">x</div></body></html>')
    text = pdf_text(await pdf.render_pdf(html, base_url=base + "/"), tmp_path)
    assert "Hallo" in text and "root:" not in text
    assert seen == []


def test_the_fetcher_rule():
    from events_app.core.settings import STATIC_DIR

    font = next((STATIC_DIR / "fonts").iterdir())
    assert not pdf.refused_url(font.as_uri())
    assert not pdf.refused_url("data:image/png;base64,AAAA")
    for url in ("http://127.0.0.1/x", "https://example.org/x", "file:///etc/passwd", "ftp://x/y",
                (STATIC_DIR / ".." / ".." / "pyproject.toml").as_uri(), "data:image/svg+xml;base64,AAAA",
                "data:text/html,<b>x</b>", "file://evil.example/etc/passwd"):
        assert pdf.refused_url(url), url
