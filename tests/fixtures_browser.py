"""Browser fixtures: a real server in a subprocess and Debian's Chromium driven by Playwright.

`live_server` serves a fresh SQLite database with the demo events, an admin
(`admin@stadt-giessen.de` / `correct horse battery`) and an API token for seeding data.
Browser tests skip when /usr/bin/chromium is missing, unless EVENTS_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("EVENTS_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("EVENTS_REQUIRE_BROWSER") == "1"
ADMIN_EMAIL = "admin@stadt-giessen.de"
ADMIN_PASSWORD = "correct horse battery"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class LiveServer:
    url: str
    token: str
    env: dict
    process: subprocess.Popen

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {self.token}"}, timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "events_app.cli", *args], env=env, input=stdin,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"events-app {' '.join(args)} failed: {result.stderr}")
    return result.stdout


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> LiveServer:
    var_dir: Path = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {**os.environ, "EVENTS_VAR_DIR": str(var_dir), "EVENTS_DATABASE_URL": f"sqlite://{var_dir / 'live.sqlite3'}",
           "EVENTS_BASE_URL": f"http://127.0.0.1:{port}", "EVENTS_SECRET_KEY": "live-test-secret"}
    _cli(env, "migrate")
    _cli(env, "demo")
    _cli(env, "user", "add", ADMIN_EMAIL, "--role", "admin", stdin=ADMIN_PASSWORD + "\n")
    token = _cli(env, "token", "create", ADMIN_EMAIL).strip()
    process = subprocess.Popen([sys.executable, "-m", "events_app.cli", "serve", "--port", str(port), "--no-migrate"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"server did not start: {process.stderr.read().decode() if process.stderr else ''}")
    yield LiveServer(url=url, token=token, env=env, process=process)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
async def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser):
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    yield page
    await context.close()
