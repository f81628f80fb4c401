"""Make a process die with the one that started it, even when that one is SIGKILLed.

Two ways, for two kinds of child:
- `die_with_parent`, a `preexec_fn`, asks Linux for a signal when the parent dies
  (PR_SET_PDEATHSIG). Linux sends it when the *thread* that forked the child ends, so
  fork from a thread that lives as long as the child should (the main thread);
- `DeathWatch` serves servers that are not our direct children (PostgreSQL's `pg_ctl`
  daemonizes the postmaster) or are started by a library: a small watcher process reads a
  pipe whose only writer is this process, and signals the server when the pipe closes
  without being disarmed, that is when this process has died.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys

logger = logging.getLogger(__name__)

# From <linux/prctl.h>.
PR_SET_PDEATHSIG = 1
# The signal a child gets when its parent dies: the graceful stop every EROS process handles.
PARENT_DEATH_SIGNAL = signal.SIGTERM
# How long the watcher waits for the server to stop after signalling it before killing it.
WATCH_KILL_AFTER_SECONDS = 20.0
WATCH_START_TIMEOUT_SECONDS = 10.0
DISARM = b"disarm"
READY = b"watching\n"

# Resolved once in the parent: after a fork only async-signal-safe work is safe, and
# `ctypes.util.find_library` starts processes.
# Absent outside Linux, where children are stopped only by a graceful exit.
_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)


def die_with_parent() -> None:
    """preexec_fn for subprocess.Popen: ask Linux to SIGTERM this child when its parent dies."""
    if _prctl is not None and _prctl(PR_SET_PDEATHSIG, PARENT_DEATH_SIGNAL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


# The watcher: a pidfd names the server for good (no pid reuse), stdin is the pipe.
_WATCHER = f"""
import os, select, signal, sys
pid, signum, kill_after = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
try:
    target = os.pidfd_open(pid)
except ProcessLookupError:
    sys.exit(0)
sys.stdout.buffer.write({READY!r})
sys.stdout.flush()
if sys.stdin.buffer.read() == {DISARM!r}:
    sys.exit(0)
try:
    signal.pidfd_send_signal(target, signum)
    if not select.select([target], [], [], kill_after)[0]:
        signal.pidfd_send_signal(target, signal.SIGKILL)
except ProcessLookupError:
    pass
"""


class DeathWatch:
    """Signals process `pid` with `signum` once this process dies, unless disarmed first."""

    def __init__(self, pid: int, signum: signal.Signals, *, what: str) -> None:
        self.pid = pid
        self.what = what
        self._watcher = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-S",
                "-c",
                _WATCHER,
                str(pid),
                str(int(signum)),
                str(WATCH_KILL_AFTER_SECONDS),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # Its own session: a Ctrl-C meant for us must not end the watcher first.
            start_new_session=True,
        )
        assert self._watcher.stdout is not None
        # Armed only once it holds the server's pidfd: a death before that would go unseen.
        if self._watcher.stdout.readline() != READY:
            self._watcher.wait(WATCH_START_TIMEOUT_SECONDS)
            logger.warning("%s (pid %d) exited before it could be watched.", what, pid)
        self._watcher.stdout.close()

    def disarm(self) -> None:
        """Let the watcher go without touching the server (we stop it ourselves); returns
        once the watcher has exited."""
        stdin = self._watcher.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.write(DISARM)
                stdin.close()
            except BrokenPipeError:
                pass
        self._watcher.wait()
