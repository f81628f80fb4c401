import os
import signal
import subprocess
import sys
from pathlib import Path

from eros.core.parent_death import DeathWatch
from tests.pipeline.fixtures import wait_until

# Generous: the machine is shared, and a watched server gets time to shut down cleanly.
DEADLINE_SECONDS = 60.0

# The middle process starts a sleeping grandchild with die_with_parent, prints its pid,
# then waits; killing the middle process with SIGKILL must take the grandchild with it.
MIDDLE = """
import subprocess, sys, time
from eros.core.parent_death import die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         preexec_fn=die_with_parent)
print(child.pid, flush=True)
time.sleep(600)
"""

# The watching process starts a sleeper that is not its child's concern (its own session,
# as a daemonized server would be), watches it, prints its pid, then waits.
WATCHING = """
import subprocess, sys, time, signal
from eros.core.parent_death import DeathWatch
server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                          start_new_session=True)
watch = DeathWatch(server.pid, signal.SIGTERM, what="the sleeper")
print(server.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _kill_and_read_survivor(script: str) -> int:
    middle = subprocess.Popen([sys.executable, "-P", "-c", script], stdout=subprocess.PIPE)
    assert middle.stdout is not None
    child_pid = int(middle.stdout.readline())
    assert alive(child_pid)
    os.kill(middle.pid, signal.SIGKILL)
    middle.wait()
    return child_pid


def test_a_child_dies_when_its_parent_is_killed_with_sigkill() -> None:
    child_pid = _kill_and_read_survivor(MIDDLE)
    wait_until(lambda: not alive(child_pid), timeout=DEADLINE_SECONDS, what="the child to die")


def test_a_watched_process_dies_when_its_watcher_s_owner_is_killed_with_sigkill() -> None:
    server_pid = _kill_and_read_survivor(WATCHING)
    wait_until(lambda: not alive(server_pid), timeout=DEADLINE_SECONDS, what="the server to die")


def test_a_disarmed_watch_leaves_the_process_running() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        watch = DeathWatch(sleeper.pid, signal.SIGTERM, what="the sleeper")
        watch.disarm()  # returns once the watcher has exited
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
