"""`events-app serve | migrate | worker | backup | restore | demo | user add | token create | import-invitations |
purge`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys

from events_app.core import db
from events_app.core.settings import load_settings
from events_app.seats import seating


#: How long `serve` lets requests in flight finish after SIGTERM (systemd's TimeoutStopSec must be longer).
SHUTDOWN_SECONDS = 30


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            raise SystemExit("The passwords differ.")
        return first
    return sys.stdin.readline().rstrip("\n")


async def _user_add(settings, email: str, role: str, name: str) -> None:
    from events_app.backoffice import accounts
    from events_app.core import errors
    from events_app.core.models import Role

    password = _read_password()
    async with db.orm(settings.database_url):
        try:
            user = await accounts.create_user(email=email, role=Role(role), password=password, name=name)
        except errors.ValidationFailed as exc:
            raise SystemExit("; ".join(f"{k}: {v}" % exc.params for k, v in exc.fields.items())) from None
        print(f"created {user.role.value} {user.email}")


async def _token_create(settings, email: str, label: str) -> None:
    from events_app.backoffice import accounts
    from events_app.core import errors

    async with db.orm(settings.database_url):
        try:
            print(await accounts.create_api_token(email=email, label=label))
        except errors.NotFound as exc:
            raise SystemExit(str(exc)) from None


async def _demo(settings, if_empty: bool) -> None:
    from events_app import demo

    async with db.orm(settings.database_url):
        created = await demo.load(if_empty=if_empty)
        print(f"demo data: {created} events created")


async def _worker(settings) -> None:
    from events_app import worker

    # a worker's jobs run one after another: a few connections are plenty
    async with db.orm(settings.database_url, pool_size=4, statement_timeout=settings.db_statement_timeout):
        await worker.run_until_signalled(settings)


# --- receptions ---


async def _import_invitations(settings, event_id: int, path: str, store: bool) -> int:
    """Print what importing the list would do; store it only when asked (--yes)."""
    from pathlib import Path

    from events_app.core import errors, i18n
    from events_app.receptions import list_files, invitee_import

    def say(message: str, **params) -> str:
        return i18n.gettext(i18n.DEFAULT_LANGUAGE, message, **params)

    async with db.orm(settings.database_url):
        try:
            table = list_files.read_table(Path(path).read_bytes(), path)
            preview = await invitee_import.build_preview(event_id=event_id, table=table)
        except (OSError, errors.DomainError) as exc:
            print(say(getattr(exc, "title", "")) if isinstance(exc, errors.DomainError) else exc, file=sys.stderr)
            return 1
        print(f"{path}: {table.kind}, {table.encoding}, {len(table.rows)} rows")
        for row in preview.rows:
            remark = f" ({row.duplicate_of})" if row.duplicate_of else ""
            print(f"  {row.line:>4}  {row.action:<11} {row.name}{remark}")
            for problem in row.problems:
                print(f"        ! {say(problem.message, **problem.params)}")
        summary = preview.summary()
        print(", ".join(f"{name}: {count}" for name, count in summary.items()))
        if not store:
            print("Nothing stored. Run again with --yes to import the rows marked create.")
            return 0
        try:
            result = await invitee_import.import_invitations(event_id=event_id, table=table, source=f"cli:{path}")
        except errors.DomainError as exc:
            print(say(exc.title), file=sys.stderr)
            return 1
        print(f"imported: {result.created}, skipped: {result.skipped}")
        return 0


# --- end receptions ---


async def _purge(settings, dry_run: bool) -> None:
    """Run the retention job now and print the rows and files per table it removed (or would remove)."""
    from events_app.privacy import retention

    async with db.orm(settings.database_url):
        removed = await retention.purge(settings, dry_run=dry_run)
    print("would remove (dry run):" if dry_run else "removed:")
    for table, count in removed.items():
        print(f"  {table}: {count}")
    if not removed:
        print("  nothing")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="events-app", description="Events of the integration office.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the web application")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="app processes (use PostgreSQL for more than one)")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations at start")
    serve.add_argument("--access-log", action="store_true", help="log every request (the proxy usually does)")
    commands.add_parser("migrate", help="apply database migrations")
    backup = commands.add_parser("backup", help="write a consistent copy of the database to FILE")
    backup.add_argument("file")
    restore = commands.add_parser("restore", help="replace the database with the backup in FILE (stop the server"
                                                  " and workers first)")
    restore.add_argument("file")
    commands.add_parser("worker", help="deliver mail and run timed jobs")
    demo = commands.add_parser("demo", help="load demo events (idempotent)")
    demo.add_argument("--if-empty", action="store_true", help="only when there are no events yet")
    user = commands.add_parser("user", help="manage organiser accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    user_add = user_commands.add_parser("add", help="add a user; the password is asked for or read from stdin")
    user_add.add_argument("email")
    user_add.add_argument("--role", choices=["admin", "organiser", "door"], required=True)
    user_add.add_argument("--name", default="")
    token = commands.add_parser("token", help="API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    token_create = token_commands.add_parser("create", help="print a new API token for a user")
    token_create.add_argument("email")
    token_create.add_argument("--label", default="")

    # --- receptions ---
    import_inv = commands.add_parser("import-invitations", help="import an invitee list (CSV or XLSX) into an event")
    import_inv.add_argument("event_id", type=int)
    import_inv.add_argument("file")
    import_inv.add_argument("--yes", action="store_true", help="store the invitations (without: preview only)")
    # --- end receptions ---
    purge = commands.add_parser("purge", help="anonymise the people of events past their retention period now")
    purge.add_argument("--dry-run", action="store_true", help="only print what would be removed")

    args = parser.parse_args(argv)
    if args.command in ("serve", "worker"):  # the worker's line per round, and warnings, on stderr
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    seating.set_lock_timeout(settings.lock_timeout_ms)
    if args.command == "serve":
        import uvicorn

        if not args.no_migrate:
            asyncio.run(db.migrate(settings.database_url))
        if args.workers > 1 and not settings.is_postgres:
            print("Several processes need PostgreSQL; serving with one.", file=sys.stderr)
            args.workers = 1
        os.environ["EVENTS_WEB_PROCESSES"] = str(args.workers)  # each process takes its share of the pool
        uvicorn.run("events_app.asgi:app", host=args.host, port=args.port, workers=args.workers,
                    loop="uvloop", http="httptools", log_level="info",
                    # X-Forwarded-For is read by the application, and only from EVENTS_TRUSTED_PROXIES
                    # (web/requests.client_address); uvicorn itself trusts no forwarded header
                    proxy_headers=False, forwarded_allow_ips="",
                    # requests are logged by the reverse proxy (docs/operations.md); a second log of every
                    # address costs CPU in a rush and keeps personal data nobody needs
                    access_log=args.access_log,
                    # on SIGTERM: stop accepting, answer what is in flight (at most this long), then the
                    # application's shutdown ends the render process and closes the database
                    timeout_graceful_shutdown=SHUTDOWN_SECONDS,
                    # a process busy with a rush on a loaded machine may answer the supervisor's ping late;
                    # restarting it then would drop every connection it holds
                    timeout_worker_healthcheck=30,
                    # idle keep-alive connections stay open longer than the proxy keeps its own (nginx: 60 s),
                    # so the proxy never sends a request on a connection the server is just closing
                    timeout_keep_alive=65)
    elif args.command in ("backup", "restore"):
        from pathlib import Path

        from events_app.core import backup as backups

        try:
            if args.command == "backup":
                backups.backup(settings.database_url, Path(args.file))
                print(f"backup written to {args.file}")
            else:
                backups.restore(settings.database_url, Path(args.file))
                print(f"database restored from {args.file}")
        except backups.BackupFailed as exc:
            raise SystemExit(f"{args.command} failed: {exc}") from None
    elif args.command == "migrate":
        asyncio.run(db.migrate(settings.database_url))
        print("migrations applied")
    elif args.command == "worker":
        asyncio.run(_worker(settings))
    elif args.command == "demo":
        asyncio.run(_demo(settings, args.if_empty))
    elif args.command == "user":
        asyncio.run(_user_add(settings, args.email, args.role, args.name))
    elif args.command == "token":
        asyncio.run(_token_create(settings, args.email, args.label))
    elif args.command == "import-invitations":  # receptions
        raise SystemExit(asyncio.run(_import_invitations(settings, args.event_id, args.file, args.yes)))
    elif args.command == "purge":
        asyncio.run(_purge(settings, args.dry_run))


if __name__ == "__main__":
    main()
