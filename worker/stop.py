"""Stop requests delivered to a work horse by signal.

The worker process asks its work horse to stop with a signal: SIGUSR1 to halt (the user
came back), SIGUSR2 to drain (the worker is shutting down). While the job's event loop
runs, `on_signals` hands both to the job (`RunContext`), which cancels its work at once on
a halt and stops at its next safe point on a drain. Outside the loop (between the fork
and the loop's start, and while the horse records how the job ended) a plain handler only
records the request, so that a signal can never kill the horse with the default action.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from types import FrameType

HALT_SIGNAL = signal.SIGUSR1
DRAIN_SIGNAL = signal.SIGUSR2
_SIGNALS = (HALT_SIGNAL, DRAIN_SIGNAL)


class StopReason(IntEnum):
    """Ordered by precedence: a halt overrides a drain (a halted job is not requeued)."""

    NONE = 0
    DRAIN = 1
    HALT = 2


class _State:
    reason = StopReason.NONE


_state = _State()


def _reason_of(signum: int) -> StopReason:
    return StopReason.HALT if signum == HALT_SIGNAL else StopReason.DRAIN


def _on_signal(signum: int, _: FrameType | None) -> None:
    request(_reason_of(signum))


def install_handlers() -> None:
    """Install the recording handlers; the worker does this before forking, so that a
    signal sent the instant a horse is born cannot kill it with the default action."""
    for signum in _SIGNALS:
        signal.signal(signum, _on_signal)


def start_horse() -> None:
    """In a new work horse: forget anything inherited and record what arrives."""
    reset()
    install_handlers()


def requested() -> StopReason:
    return _state.reason


def reset() -> None:
    """Forget any stop request (a new job, or a test)."""
    _state.reason = StopReason.NONE


def request(reason: StopReason) -> None:
    """Record a stop found by other means (polling Redis)."""
    _state.reason = max(_state.reason, reason)


@contextmanager
def on_signals(callback: Callable[[StopReason], None]) -> Iterator[None]:
    """While the running loop is in this block, each stop signal is recorded and then
    passed to `callback`, on the loop, as soon as it arrives (the loop wakes up for it)."""
    loop = asyncio.get_running_loop()
    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}

    def deliver(reason: StopReason) -> None:
        request(reason)
        callback(reason)

    for signum in _SIGNALS:
        loop.add_signal_handler(signum, deliver, _reason_of(signum))
    try:
        yield
    finally:
        # Removing the loop's handler restores the default action (termination): block the
        # signals until the previous handlers are back, so that none is lost or fatal.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            for signum in _SIGNALS:
                loop.remove_signal_handler(signum)
                handler = previous[signum]
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
