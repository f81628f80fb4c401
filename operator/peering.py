"""The kopf peering of operator replicas: priorities that never tie, and who stands by.

Kopf pauses a replica that sees a live peer of higher priority, and pauses *every* replica
that sees a peer of equal priority, so two replicas given the same --priority would both
wait forever. The effective priority is `priority * TIEBREAK_RANGE + tiebreak(identity)`:
the user's ordering is kept and replicas of equal priority differ by a number derived
from their pod name. Two names may still hash alike (about 1 in 2**20 for a pair): then
the replica with the smaller identity moves to the next salt of its tiebreak
(`next_salt`), so a tie always ends, within the same user priority.

`standing` applies kopf's rule to the peering object's status, so that a replica can
say whether it acts or stands by, and for whom.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# 2**20 tie-breakers; with |priority| <= MAX_PRIORITY the result stays within 2**53, the
# integers that the KopfPeering's JSON status keeps exactly.
TIEBREAK_RANGE = 2**20
MAX_PRIORITY = 2**32
IDENTITY_ENV = "POD_NAME"
# What kopf assumes of a peer entry without a lifetime (kopf.Peer's default).
DEFAULT_PEER_LIFETIME_SECONDS = 60


def tiebreak(identity: str, salt: int = 0) -> int:
    """A number in [0, TIEBREAK_RANGE) derived from the identity, the same on every run."""
    seed = identity if salt == 0 else f"{identity}#{salt}"
    digest = hashlib.sha256(seed.encode()).digest()
    return int.from_bytes(digest[:8], "big") % TIEBREAK_RANGE


def effective_priority(priority: int, identity: str, salt: int = 0) -> int:
    """The kopf priority of a replica with this user priority and identity."""
    if abs(priority) > MAX_PRIORITY:
        raise ValueError(f"The peering priority must be within ±{MAX_PRIORITY}, not {priority}.")
    return priority * TIEBREAK_RANGE + tiebreak(identity, salt)


def user_priority(effective: int) -> int:
    """The --priority an effective priority was made from (the tiebreak is never negative)."""
    return effective // TIEBREAK_RANGE


def replica_identity() -> str:
    """The pod name ($POD_NAME from the downward API), else the host name and process id."""
    return os.environ.get(IDENTITY_ENV) or f"{socket.gethostname()}/{os.getpid()}"


def kopf_identity() -> str:
    """The name of this operator in the peering object: the pod name, else the host name
    and process id with a random suffix, since two operators in one process (as tests run
    them) must not share one entry."""
    return os.environ.get(IDENTITY_ENV) or f"{replica_identity()}/{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Peer:
    """One replica's entry in the peering object's status, as kopf writes it."""

    identity: str
    priority: int
    deadline: datetime  # lastseen + lifetime: dead from then on


def peers_from_status(status: Mapping[str, Any] | None, now: datetime) -> list[Peer]:
    """The entries of a KopfPeering's status; entries kopf could not read are skipped."""
    peers: list[Peer] = []
    for identity, entry in (status or {}).items():
        if not isinstance(entry, Mapping):
            continue  # an entry being removed (kopf patches it to null)
        try:
            priority = int(entry.get("priority", 0))
            lifetime = timedelta(seconds=int(entry.get("lifetime", DEFAULT_PEER_LIFETIME_SECONDS)))
            lastseen = entry.get("lastseen")
            seen = datetime.fromisoformat(str(lastseen)) if lastseen is not None else now
        except (TypeError, ValueError):
            continue
        if seen.tzinfo is None:
            continue
        peers.append(Peer(str(identity), priority, seen + lifetime))
    return peers


@dataclass(frozen=True)
class Standing:
    """Whether a replica acts, as kopf decides it from the peers it sees."""

    identity: str
    priority: int
    higher: tuple[str, ...] = ()  # live peers of higher priority: they act, not this one
    tied: tuple[str, ...] = ()  # live peers of the same priority: kopf pauses all of them

    @property
    def paused(self) -> bool:
        return bool(self.higher or self.tied)

    @property
    def in_favour_of(self) -> tuple[str, ...]:
        return self.higher or self.tied

    def probe(self) -> dict[str, Any]:
        """The value of the "peering" liveness probe."""
        value: dict[str, Any] = {
            "state": "paused" if self.paused else "active",
            "identity": self.identity,
            "priority": self.priority,
        }
        if self.higher:
            value["in favour of"] = list(self.higher)
        if self.tied:
            value["tied with"] = list(self.tied)
        return value


def live_peers(identity: str, peers: Iterable[Peer], now: datetime) -> list[Peer]:
    """The other replicas whose lease has not run out."""
    return [peer for peer in peers if peer.identity != identity and peer.deadline > now]


def standing(identity: str, priority: int, peers: Iterable[Peer], now: datetime) -> Standing:
    """Kopf's rule: pause for any live peer of higher priority, and for any of equal one."""
    others = live_peers(identity, peers, now)
    return Standing(
        identity=identity,
        priority=priority,
        higher=tuple(sorted(p.identity for p in others if p.priority > priority)),
        tied=tuple(sorted(p.identity for p in others if p.priority == priority)),
    )


def next_salt(
    identity: str, priority: int, salt: int, peers: Iterable[Peer], now: datetime
) -> int | None:
    """The salt to move to when a live peer ties with this replica, else None.

    Only the replica with the smaller identity moves, so the two never move together into
    a new tie; if the new tiebreak ties with someone else, that tie is broken the same way.
    """
    tied = [p for p in live_peers(identity, peers, now) if p.priority == priority]
    if any(peer.identity > identity for peer in tied):
        return salt + 1
    return None


def combined(standings: Iterable[Standing], identity: str, priority: int) -> Standing:
    """One standing over several peering objects (one per served namespace): kopf pauses
    the whole operator while any of them says so."""
    higher: set[str] = set()
    tied: set[str] = set()
    for each in standings:
        higher.update(each.higher)
        tied.update(each.tied)
    return Standing(identity, priority, tuple(sorted(higher)), tuple(sorted(tied)))
