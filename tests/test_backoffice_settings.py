"""The admins' settings page: every setting in force with its variable and meaning, secrets hidden."""

from __future__ import annotations

import re
from dataclasses import fields

import httpx

from events_app.app import create_app
from events_app.core.settings import Settings, describe, load_settings
from tests.fixtures_backoffice import sign_in


async def test_admin_sees_every_setting_with_secrets_hidden(db, settings):
    secret_settings = settings.with_(database_url="postgresql://events:pg-geheim@db.example:5432/events",
                                     smtp_host="mail.example.org", smtp_username="events",
                                     smtp_password="smtp-geheim", staff_domains=("giessen.de", "*.giessen.de"))
    app = create_app(secret_settings, manage_orm=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        await sign_in(client, "admin")
        users_page = await client.get("/admin/users")
        assert 'href="/admin/settings"' in users_page.text
        page = await client.get("/admin/settings")
    assert page.status_code == 200
    html = page.text
    for secret in ("pg-geheim", "smtp-geheim", "test-secret-key"):
        assert secret not in html
    rows = {row_id: body for row_id, body in re.findall(r'<tr id="setting-(\w+)">(.*?)</tr>', html, re.S)}
    assert set(rows) == {spec.name for spec in fields(Settings)}
    assert "postgresql://events:********@db.example:5432/events" in rows["database_url"]
    assert "EVENTS_SECRET_KEY" in rows["secret_key"] and "gesetzt (verborgen)" in rows["secret_key"]
    assert "gesetzt (verborgen)" in rows["smtp_password"]
    assert "mail.example.org" in rows["smtp_host"] and "giessen.de,*.giessen.de" in rows["staff_domains"]
    assert "Signiert Sitzungen und Links" in rows["secret_key"]  # the meaning, in the admin's language
    assert "im Programm festgelegt" in rows["max_body_bytes"]


async def test_an_unset_secret_says_so(db, settings):
    rows = {row.name: row for row in describe(settings.with_(smtp_password=""))}
    assert (rows["smtp_password"].value, rows["smtp_password"].hidden) == ("", False)
    assert (rows["secret_key"].value, rows["secret_key"].hidden) == ("", True)


async def test_organiser_gets_403_and_no_link(client, db):
    await sign_in(client, "organiser")
    response = await client.get("/admin/settings")
    assert response.status_code == 403
    assert 'href="/admin/settings"' not in (await client.get("/admin")).text


def test_each_documented_variable_is_the_one_that_sets_the_field(tmp_path):
    """The page names each field's variable; setting that variable must change that field."""
    samples = {str: "sample", int: "7", float: "0.5", bool: "false"}
    base = {"EVENTS_VAR_DIR": str(tmp_path)}
    defaults = load_settings(base)
    for spec in fields(Settings):
        env = spec.metadata["env"]
        if not env or env == "EVENTS_VAR_DIR":
            continue
        value = {"database_url": "sqlite:///elsewhere.sqlite3", "timezone": "UTC", "staff_domains": "example.org",
                 "smtp_tls": "tls", "trusted_proxies": "10.0.0.1"}.get(spec.name, samples.get(type(getattr(defaults, spec.name))))
        changed = load_settings({**base, env: value})
        assert getattr(changed, spec.name) != getattr(defaults, spec.name), env
    assert load_settings({"EVENTS_VAR_DIR": str(tmp_path / "other")}).var_dir == tmp_path / "other"
