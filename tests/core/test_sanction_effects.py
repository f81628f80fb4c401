"""How long a sanctioned account's heartbeats are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eros.core.sanction_effects import heartbeat_refusal_seconds

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
TOKEN_TTL_S = 900


def test_a_ban_refuses_heartbeats_for_an_access_tokens_whole_life() -> None:
    assert heartbeat_refusal_seconds(None, NOW, TOKEN_TTL_S) == TOKEN_TTL_S


def test_a_suspension_longer_than_a_token_refuses_them_for_the_tokens_life() -> None:
    assert heartbeat_refusal_seconds(NOW + timedelta(days=1), NOW, TOKEN_TTL_S) == TOKEN_TTL_S


def test_a_short_suspension_refuses_them_only_until_it_ends() -> None:
    until = NOW + timedelta(seconds=60.2)
    assert heartbeat_refusal_seconds(until, NOW, TOKEN_TTL_S) == 61


def test_a_suspension_already_over_still_refuses_for_at_least_a_second() -> None:
    assert heartbeat_refusal_seconds(NOW - timedelta(seconds=5), NOW, TOKEN_TTL_S) == 1
