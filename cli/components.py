"""Entry points of the long-running components and one-shot commands."""

from __future__ import annotations

import logging
import sys

import uvicorn
from pydantic import ValidationError

from eros.core.logs import configure_logging
from eros.core.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# Long enough for in-flight heartbeats to finish, short enough for a rolling update.
GRACEFUL_SHUTDOWN_SECONDS = 10


def load_settings() -> Settings:
    """Settings validated at start-up; an invalid configuration exits with a clear message."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        sys.stderr.write(f"eros: invalid configuration:\n{exc}\n")
        raise SystemExit(2) from exc
    configure_logging(settings.log_level, settings.log_format.value)
    return settings


def run_api(*, host: str | None = None, port: int | None = None) -> int:
    from eros.api.app import create_app

    settings = load_settings()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    uvicorn.Server(config).run()
    return 0


def run_migrate() -> int:
    from eros.core.database import require_database_url
    from eros.core.migrate import apply_migrations

    settings = load_settings()
    applied = apply_migrations(require_database_url(settings))
    logger.info("Database is up to date; applied %d migrations.", len(applied))
    return 0


def run_set_role(email: str, role: str) -> int:
    from eros.core.accounts import set_role
    from eros.core.database import require_database_url
    from eros.core.tokens import Role

    settings = load_settings()
    if not set_role(require_database_url(settings), email, Role(role)):
        sys.stderr.write(f"eros: no user with email {email}\n")
        return 1
    sys.stdout.write(f"{email} is now {role}\n")
    return 0
