from __future__ import annotations

import pytest
from pydantic import ValidationError

from eros.core.settings import DEV_JWT_SECRET, Settings, get_settings


def test_development_accepts_the_default_secret() -> None:
    assert Settings(_env_file=None).jwt_secret.get_secret_value() == DEV_JWT_SECRET


@pytest.mark.parametrize("environment", ["production", "test"])
def test_the_default_secret_is_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="EROS_JWT_SECRET"):
        Settings(environment=environment)


def test_a_short_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="EROS_JWT_SECRET"):
        Settings(environment="production", jwt_secret="short")


def test_thresholds_must_increase_strictly() -> None:
    with pytest.raises(ValidationError, match="strictly increasing"):
        Settings(phase_idle_seconds=[600, 600, 3600])


def test_settings_are_read_from_eros_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EROS_PHASE_IDLE_SECONDS", "[60, 120, 180]")
    monkeypatch.setenv("EROS_API_PORT", "9001")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.phase_idle_seconds == [60, 120, 180]
        assert settings.api_port == 9001
        assert get_settings() is settings
    finally:
        get_settings.cache_clear()
