"""The kopf peering priority of a replica: the user's priority, with ties broken by identity.

Kopf pauses every operator that sees a peer of equal priority, so two replicas given the
same --priority would both wait forever. The effective priority is
`priority * TIEBREAK_RANGE + tiebreak(identity)`: the user's ordering is kept and replicas
of equal priority differ by a number derived from their pod name.
"""

from __future__ import annotations

import hashlib
import os
import socket

# 2**20 tie-breakers; with |priority| <= MAX_PRIORITY the result stays within 2**53, the
# integers that the KopfPeering's JSON status keeps exactly.
TIEBREAK_RANGE = 2**20
MAX_PRIORITY = 2**32
IDENTITY_ENV = "POD_NAME"


def tiebreak(identity: str) -> int:
    """A number in [0, TIEBREAK_RANGE) derived from the identity, the same on every run."""
    digest = hashlib.sha256(identity.encode()).digest()
    return int.from_bytes(digest[:8], "big") % TIEBREAK_RANGE


def effective_priority(priority: int, identity: str) -> int:
    """The kopf priority of a replica with this user priority and identity."""
    if abs(priority) > MAX_PRIORITY:
        raise ValueError(f"The peering priority must be within ±{MAX_PRIORITY}, not {priority}.")
    return priority * TIEBREAK_RANGE + tiebreak(identity)


def replica_identity() -> str:
    """The pod name ($POD_NAME from the downward API), else the host name and process id."""
    return os.environ.get(IDENTITY_ENV) or f"{socket.gethostname()}/{os.getpid()}"
