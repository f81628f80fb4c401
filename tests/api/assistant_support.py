"""Fixtures and data shared by the assistant API tests: apps with and without Claude, and
two users, the caller and the person whose data must never show up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from pydantic import SecretStr

from eros.core.clock import ManualClock
from eros.core.settings import Settings
from tests.api.profile_support import client_with, profile_body, put_profile, quick_accounts
from tests.conftest import Account
from tests.fake_anthropic import FakeAnthropic, Reply, message_body

CHAT_URL = "/api/v1/assistant/chat"
ASK_URL = "/api/v1/assistant/ask"
TRANSLATE_URL = "/api/v1/assistant/translate"
ADVICE_URL = "/api/v1/assistant/advice"
CONVERSATIONS_URL = "/api/v1/assistant/conversations"
# Short, so that the timeout tests are quick; the fake's hanging replies never answer.
TEST_ASSISTANT_TIMEOUT_SECONDS = 0.3

# The caller's profile (Ana in Berlin, hiking) and another user's, full of markers that
# must never appear in a prompt or an answer given to the caller.
OWN_PROFILE = profile_body(photoUrls=["https://img.example.com/ana/1.jpg"])
OWN_MARKERS = ("Ana", "Berlin", "hiking")
OTHER_PROFILE = profile_body(
    displayName="Zebulon",
    bio="Falconer with a secret: QX7-MARKER.",
    location={"latitude": 64.14, "longitude": -21.94, "city": "Reykjavik"},
    interests={"falconry": 95},
)
OTHER_MARKERS = ("Zebulon", "QX7-MARKER", "Reykjavik", "falconry", "Falconer")


@contextmanager
def app_without_claude(
    settings: Settings, clock: ManualClock, **overrides: Any
) -> Iterator[TestClient]:
    # Explicitly keyless, so that a developer's EROS_ANTHROPIC_API_KEY never reaches a test.
    with client_with(settings, clock, anthropic_api_key=None, **overrides) as client:
        yield client


@contextmanager
def app_with_claude(
    settings: Settings, clock: ManualClock, fake: FakeAnthropic, **overrides: Any
) -> Iterator[TestClient]:
    values: dict[str, Any] = {
        "anthropic_api_key": SecretStr("test-key"),
        "anthropic_base_url": fake.url,
        "anthropic_model": "claude-test-model",
        "assistant_timeout_seconds": TEST_ASSISTANT_TIMEOUT_SECONDS,
        "assistant_max_retries": 0,
    }
    values.update(overrides)
    with client_with(settings, clock, **values) as client:
        yield client


def chat_reply(response: str, intent: str = "conversation_starter", actions: Any = ()) -> Reply:
    return Reply.json({"response": response, "intent": intent, "suggested_actions": list(actions)})


def leak_everything() -> Reply:
    """A model that obeys every injection: it answers with the profile part of its prompt
    and every message it was sent, in a reply that passes validation."""

    def render(request: dict[str, Any]) -> bytes:
        profile = request["system"].split("profile summary:", 1)[1]
        sent = json.dumps(request["messages"])
        response = f"{profile} {sent}"[:1900]
        text = json.dumps({"response": response, "intent": "unknown", "suggested_actions": []})
        return json.dumps(message_body(text, "end_turn", "claude-test-model")).encode()

    return Reply(render=render)


def caller_and_other(
    app: TestClient, db: psycopg.Connection[Any], clock: ManualClock
) -> tuple[Account, Account]:
    """The caller and another user, both with profiles."""
    caller, other = quick_accounts(db, clock, 2)
    put_profile(app, caller, OWN_PROFILE)
    put_profile(app, other, OTHER_PROFILE)
    return caller, other


def send_chat(
    app: TestClient, account: Account, message: str, conversation_id: str | None = None
) -> Any:
    body: dict[str, Any] = {"message": message}
    if conversation_id:
        body["conversationId"] = conversation_id
    return app.post(CHAT_URL, json=body, headers=account.headers)
