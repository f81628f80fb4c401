"""Stop requests delivered to a work horse by signal.

The worker process asks its work horse to stop with a signal: SIGUSR1 to halt (the user
came back), SIGUSR2 to drain (the worker is shutting down). The handler only records the
request; the job acts on it at its next safe point (`JobContext.checkpoint`), so it never
stops halfway through an update. A self-pipe wakes a job waiting in `wait()`.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from enum import IntEnum
from types import FrameType

HALT_SIGNAL = signal.SIGUSR1
DRAIN_SIGNAL = signal.SIGUSR2
# A job can wait in `wait()` between safe points; the self-pipe makes it return at once.
_WAKEUP_READ_BYTES = 512


class StopReason(IntEnum):
    """Ordered by precedence: a halt overrides a drain (a halted job is not requeued)."""

    NONE = 0
    DRAIN = 1
    HALT = 2


class _State:
    reason = StopReason.NONE
    wakeup_read: int | None = None


_state = _State()


def _on_signal(signum: int, _: FrameType | None) -> None:
    reason = StopReason.HALT if signum == HALT_SIGNAL else StopReason.DRAIN
    _state.reason = max(_state.reason, reason)


def install_handlers() -> None:
    """Install the handlers; the worker does this before forking, so that a signal sent the
    instant a horse is born cannot kill it with the default action."""
    signal.signal(HALT_SIGNAL, _on_signal)
    signal.signal(DRAIN_SIGNAL, _on_signal)


def start_horse() -> None:
    """In a new work horse: forget anything inherited and arm the wake-up pipe."""
    reset()
    install_handlers()
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    _state.wakeup_read = read_fd


def requested() -> StopReason:
    return _state.reason


def reset() -> None:
    """Forget any stop request (a new job, or a test)."""
    _state.reason = StopReason.NONE


def request(reason: StopReason) -> None:
    """Record a stop found by other means (polling Redis)."""
    _state.reason = max(_state.reason, reason)


def wait(seconds: float) -> None:
    """Sleep up to `seconds`, returning early once a stop has been requested."""
    deadline = time.monotonic() + seconds
    while _state.reason is StopReason.NONE:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        if _state.wakeup_read is None:
            time.sleep(remaining)
            return
        readable, _, _ = select.select([_state.wakeup_read], [], [], remaining)
        if readable:
            with contextlib.suppress(BlockingIOError):
                os.read(_state.wakeup_read, _WAKEUP_READ_BYTES)
