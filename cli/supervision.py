"""Pure restart decisions for the `eros dev` supervisor."""

FIRST_RESTART_DELAY_SECONDS = 0.5
MAX_RESTART_DELAY_SECONDS = 30.0
# A component that stayed up this long is considered healthy again, so its
# next crash starts the back-off from the beginning.
STABLE_UPTIME_SECONDS = 60.0


def restart_delay(consecutive_crashes: int) -> float:
    """Seconds to wait before restarting a component after its Nth crash in a row."""
    if consecutive_crashes < 1:
        raise ValueError("consecutive_crashes must be at least 1")
    # Cap the exponent so a long crash loop never overflows the float.
    exponent = min(consecutive_crashes - 1, 32)
    return min(FIRST_RESTART_DELAY_SECONDS * 2.0**exponent, MAX_RESTART_DELAY_SECONDS)


def crashes_after(previous_crashes: int, uptime_seconds: float) -> int:
    """The crash count after a component exits having run for uptime_seconds."""
    if uptime_seconds >= STABLE_UPTIME_SECONDS:
        return 1
    return previous_crashes + 1
