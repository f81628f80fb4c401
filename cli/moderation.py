"""`eros moderation ...`: triage reports and sanction accounts from a shell.

The same domain calls as the admin API (`eros.core.moderation`), so a ban from here
takes effect on the API's next request; the account's running jobs are halted here too.
Actions are audited without an actor (no admin account is logged in at a shell).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any
from uuid import UUID

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from eros.core import moderation
from eros.core.database import require_database_url
from eros.core.errors import DomainError
from eros.core.moderation import ReportStatus, Sanction
from eros.core.settings import Settings

__all__ = ["add_moderation_commands"]

SECONDS_PER_DAY = 86_400


def add_moderation_commands(commands: Any) -> None:
    """Register `moderation` and its actions on the top-level subparsers."""
    parser = commands.add_parser("moderation", help="Triage reports; suspend, ban, reinstate.")
    actions = parser.add_subparsers(dest="moderation_command", required=True, metavar="ACTION")

    reports = actions.add_parser("reports", help="List reports as JSON lines, oldest first.")
    reports.add_argument("--status", choices=[s.value for s in ReportStatus])
    reports.add_argument("--reported", type=UUID, help="Only reports against this user id.")
    reports.add_argument("--limit", type=int, default=50)
    reports.add_argument("--offset", type=int, default=0)
    reports.set_defaults(handler=_reports)

    audit = actions.add_parser("audit", help="Show the audit trail as JSON lines, newest first.")
    audit.add_argument("--user", type=UUID, help="A member's sanctions and reports against them.")
    audit.add_argument("--report", type=UUID, help="Only this report's triage.")
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(handler=_audit)

    triage = actions.add_parser("triage", help="Move a report to reviewed/actioned/dismissed.")
    triage.add_argument("report_id", type=UUID)
    triage.add_argument("status", choices=[s.value for s in ReportStatus])
    triage.add_argument("--note")
    triage.set_defaults(handler=_triage)

    suspend = actions.add_parser("suspend", help="Suspend a user for some days.")
    suspend.add_argument("user_id", type=UUID)
    suspend.add_argument("--days", type=float, required=True)
    suspend.add_argument("--reason", required=True)
    suspend.set_defaults(handler=_suspend)

    for name, handler, text in (
        ("ban", _ban, "Ban a user until reinstated."),
        ("reinstate", _reinstate, "Lift a user's suspension or ban."),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("user_id", type=UUID)
        action.add_argument("--reason", required=True)
        action.set_defaults(handler=handler)


async def _connect(settings: Settings) -> AsyncConnection[Any]:
    return await AsyncConnection.connect(
        require_database_url(settings), autocommit=True, row_factory=dict_row
    )


def _run(work: Any) -> int:
    try:
        asyncio.run(work)
    except DomainError as exc:
        sys.stderr.write(f"eros: {exc.code}: {exc.message}\n")
        return 1
    except (RuntimeError, psycopg.OperationalError) as exc:
        sys.stderr.write(f"eros: the database is unavailable: {exc}\n")
        return 1
    return 0


def _reports(args: argparse.Namespace) -> int:
    async def work() -> None:
        async with await _connect(load_settings()) as conn:
            page = await moderation.list_reports(
                conn,
                status=ReportStatus(args.status) if args.status else None,
                reported_id=args.reported,
                limit=args.limit,
                offset=args.offset,
            )
        for r in page.reports:
            line = {
                "id": str(r.id),
                "reporterId": str(r.reporter_id),
                "reportedUserId": str(r.reported_id),
                "reason": r.reason,
                "severity": r.severity,
                "status": r.status.value,
                "note": r.note,
                "createdAt": r.created_at.isoformat(),
            }
            sys.stdout.write(json.dumps(line) + "\n")
        sys.stderr.write(f"{len(page.reports)} of {page.total} reports\n")

    return _run(work())


def _audit(args: argparse.Namespace) -> int:
    async def work() -> None:
        async with await _connect(load_settings()) as conn:
            entries = await moderation.list_audit(
                conn, user_id=args.user, report_id=args.report, limit=args.limit
            )
        for e in entries:
            line = {
                "at": e.at.isoformat(),
                "actorId": str(e.actor_id) if e.actor_id else None,
                "action": e.action,
                "reportId": str(e.report_id) if e.report_id else None,
                "userId": str(e.user_id) if e.user_id else None,
                "note": e.note,
            }
            sys.stdout.write(json.dumps(line) + "\n")

    return _run(work())


def _triage(args: argparse.Namespace) -> int:
    async def work() -> None:
        async with await _connect(load_settings()) as conn:
            report = await moderation.triage(
                conn, args.report_id, ReportStatus(args.status), None, args.note
            )
        sys.stdout.write(f"report {report.id} is now {report.status.value}\n")

    return _run(work())


def load_settings() -> Settings:
    # Imported when a command runs: building the parser stays cheap.
    from eros.cli.components import load_settings as load

    return load()


async def _halt(settings: Settings, sanction: Sanction) -> int:
    # The API's halt series: counted in this process only, but one owner of their names.
    from eros.api.metrics import HALT_METRICS
    from eros.core.clock import SystemClock, utc_from_ms
    from eros.core.redis_client import async_redis
    from eros.core.sanction_effects import apply_sanction_effects
    from eros.pipeline.halt import RedisHalter

    if settings.redis_url is None:
        sys.stderr.write("eros: EROS_REDIS_URL is unset; the user's jobs were not halted\n")
        return 0
    client = async_redis(settings.redis_url)
    try:
        now_ms = SystemClock().now_ms()
        await apply_sanction_effects(
            client, sanction, utc_from_ms(now_ms), settings.access_token_ttl_seconds
        )
        halter = RedisHalter(client, settings, counted=HALT_METRICS)
        return await halter.halt_user(sanction.user_id, now_ms)
    finally:
        await client.aclose()


async def _halt_and_tell(settings: Settings, sanction: Sanction) -> None:
    halted = await _halt(settings, sanction)
    until = f" until {sanction.until.isoformat()}" if sanction.until else ""
    sys.stdout.write(f"{sanction.user_id} is {sanction.kind.value}{until}; halted {halted} jobs\n")


def _suspend(args: argparse.Namespace) -> int:
    async def work() -> None:
        settings = load_settings()
        async with await _connect(settings) as conn:
            sanction = await moderation.suspend(
                conn, args.user_id, round(args.days * SECONDS_PER_DAY), None, args.reason
            )
        await _halt_and_tell(settings, sanction)

    return _run(work())


def _ban(args: argparse.Namespace) -> int:
    async def work() -> None:
        settings = load_settings()
        async with await _connect(settings) as conn:
            sanction = await moderation.ban(conn, args.user_id, None, args.reason)
        await _halt_and_tell(settings, sanction)

    return _run(work())


def _reinstate(args: argparse.Namespace) -> int:
    async def work() -> None:
        settings = load_settings()
        async with await _connect(settings) as conn:
            await moderation.reinstate(conn, args.user_id, None, args.reason)
        if settings.redis_url is not None:
            from eros.core.redis_client import async_redis
            from eros.core.sanction_effects import lift_sanction_effects

            client = async_redis(settings.redis_url)
            try:
                await lift_sanction_effects(client, args.user_id)
            finally:
                await client.aclose()
        sys.stdout.write(f"{args.user_id} is reinstated\n")

    return _run(work())
