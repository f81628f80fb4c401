"""The console in a real browser: headless Chromium against a real uvicorn API on the
embedded servers, with the clock injected so that idle time passes at once.

An administrator logs in, sees users drift into phase 1 and the operator's plan ask for
workers, and sees a returning user's halt. Skipped where no Chromium is installed
(`.ci/run` installs Debian's `chromium`); never downloads a browser.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from eros.api.app import create_app
from eros.core.clock import MS_PER_SECOND, ManualClock
from eros.core.settings import Settings
from eros.operator.reconciler import Reconciler
from eros.pipeline.history import MS_PER_MINUTE
from eros.pipeline.scheduler import Scheduler
from tests.conftest import Account
from tests.live_server import serve
from tests.operator.fake_kube import OWNER, FakeKube, deployments_of

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous: the page polls every 2 s, on a machine shared with other tests.
UI_TIMEOUT_MS = 30_000
PASSWORD = "correct horse battery"
ACTIVE = {"appActive": True, "screenOn": True}
PHASE_1_IDLE_S = 11 * 60
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
)


@pytest.fixture
def live_api(
    settings: Settings, clock: ManualClock, db: object, redis_client: object
) -> Iterator[str]:
    """The API served by uvicorn on a free loopback port, on the test's clock."""
    with serve(create_app(settings, clock=clock)) as url:
        yield url


@pytest.fixture
def browser_page() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


@dataclass
class Loop:
    """The loop's other components, ticked by hand on the test's clock."""

    scheduler: Scheduler
    reconciler: Reconciler
    clock: ManualClock

    def tick(self) -> None:
        self.scheduler.tick()
        now = datetime.fromtimestamp(self.clock.now_ms() / MS_PER_SECOND, UTC)
        self.reconciler.tick({}, 3, {}, list(deployments_of({})), now)


@pytest.fixture
def loop(
    redis_client: redis.Redis, redis_url: str, settings: Settings, clock: ManualClock
) -> Iterator[Loop]:
    reconciler = Reconciler(FakeKube(redis_url), OWNER)
    yield Loop(
        Scheduler(redis_client, settings, clock=clock, name="scheduler-a"), reconciler, clock
    )
    reconciler.close()


def _beat(client: TestClient, account: Account) -> None:
    response = client.post("/api/v1/heartbeat", json=ACTIVE, headers=account.headers)
    assert response.status_code == 200, response.text


def _cell(page: Any, phase: int, column: int) -> str:
    return str(page.locator(f'#workers tr[data-phase="{phase}"] td').nth(column).inner_text())


def test_an_admin_sees_the_loop_move_in_the_browser(
    live_api: str,
    browser_page: Any,
    client: TestClient,
    make_account: Callable[..., Account],
    loop: Loop,
    tmp_path: Path,
) -> None:
    page = browser_page
    expect = sync_api.expect
    expect.set_options(timeout=UI_TIMEOUT_MS)
    admin = make_account(admin=True)
    users = [make_account() for _ in range(3)]
    for user in users:
        _beat(client, user)
    loop.tick()

    # Without a token, only the login form shows.
    page.goto(f"{live_api}/console")
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#dashboard")).to_be_hidden()

    page.fill("#email", admin.email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#dashboard")).to_be_visible()
    expect(page.locator("#users-legend")).to_contain_text("active: 3")
    expect(page.locator('#workers tr[data-phase="1"] td').nth(1)).to_have_text("0")
    expect(page.locator("#leader")).to_contain_text("scheduler-a")
    expect(page.locator("#plan-summary")).to_contain_text("dating/eros, generation 3")

    # Eleven idle minutes later the users are in phase 1, their jobs queued, and the
    # operator wants phase 1 workers.
    loop.clock.advance(seconds=PHASE_1_IDLE_S)
    loop.tick()
    expect(page.locator("#users-legend")).to_contain_text("phase 1: 3")
    expect(page.locator("#queues tbody tr").first.locator("td").nth(2)).to_have_text("3")
    expect(page.locator('#workers tr[data-phase="1"] td').nth(1)).not_to_have_text("0")
    assert int(_cell(page, 1, 1)) <= int(_cell(page, 1, 3))  # within the phase's budget
    expect(page.locator('#users-chart path[data-series="phase 1"]')).to_have_count(1)

    # One user comes back: their queued job is halted, and the next minute counts it.
    _beat(client, users[0])
    expect(page.locator("#recent-halts li").first).to_contain_text("phase 1 queued")
    loop.clock.advance(seconds=(MS_PER_MINUTE - loop.clock.now_ms() % MS_PER_MINUTE) / 1000 + 1)
    loop.tick()
    expect(page.locator("#halts-chart rect[data-halts]")).to_have_count(1)
    expect(page.locator("#users-legend")).to_contain_text("active: 1")

    page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
    page.set_viewport_size(PHONE)
    expect(page.locator("#workers")).to_be_visible()
    page.screenshot(path=str(tmp_path / "console-phone.png"), full_page=True)
    assert (tmp_path / "console.png").stat().st_size > 0


def test_a_non_admin_login_is_refused_and_shows_nothing(
    live_api: str, browser_page: Any, make_account: Callable[..., Account]
) -> None:
    page = browser_page
    sync_api.expect.set_options(timeout=UI_TIMEOUT_MS)
    user = make_account()
    page.goto(f"{live_api}/console")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    sync_api.expect(page.locator("#login-error")).to_contain_text("not an administrator")
    sync_api.expect(page.locator("#dashboard")).to_be_hidden()
