"""Whether this replica acts or stands by for a peer: the "peering" entry of `/healthz`, and a
plain log line whenever that changes.

Kopf keeps its pause toggle private, so this module watches the peering objects kopf
uses (a KopfPeering per served namespace, or the ClusterKopfPeering) and applies kopf's
rule to their status (`peering.standing`). It also ends ties: when a live peer has exactly
this replica's priority (two pod names whose tiebreaks collide), the replica with the
smaller identity moves to another tiebreak and announces it at once, so kopf resumes one
of them. A standby is healthy: the probe never fails because the replica is paused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes import watch
from kubernetes.client import ApiClient, ApiException, CustomObjectsApi

from eros.operator.kube import MERGE_PATCH, load_api_client
from eros.operator.peering import (
    Standing,
    combined,
    effective_priority,
    next_salt,
    peers_from_status,
    replica_identity,
    standing,
    user_priority,
)
from eros.operator.runtime import OperatorOptions

logger = logging.getLogger(__name__)

PEERING_GROUP = "kopf.dev"
PEERING_VERSION = "v1"
NAMESPACED_PLURAL = "kopfpeerings"
CLUSTER_PLURAL = "clusterkopfpeerings"
# The server ends each watch after this long and the watch is reopened, so that a
# silently dead connection is noticed.
WATCH_SERVER_TIMEOUT_SECONDS = 60
WATCH_CLIENT_TIMEOUT_SECONDS = 75
RETRY_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 10.0
HTTP_GONE = 410

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Target:
    """One peering object: a KopfPeering in a namespace, or the ClusterKopfPeering."""

    name: str
    namespace: str | None = None

    def describe(self) -> str:
        if self.namespace is None:
            return f"ClusterKopfPeering {self.name}"
        return f"KopfPeering {self.namespace}/{self.name}"


def targets(options: OperatorOptions) -> list[Target]:
    """The peering objects kopf uses with these options (none when standalone)."""
    if options.standalone:
        return []
    if options.clusterwide:
        return [Target(options.peering_name)]
    return [Target(options.peering_name, namespace) for namespace in options.namespaces]


def transition(before: Standing | None, after: Standing) -> tuple[int, str] | None:
    """The log level and line for a change of standing, or None when nothing changed."""
    if before == after:
        return None
    me = f"This replica ({after.identity}, peering priority {after.priority})"
    if after.tied:
        names, verb = _named(after.tied)
        return (
            logging.WARNING,
            f"{me} is paused: {names} {verb} the same priority, and kopf pauses every "
            "replica of a tie; the one with the smaller identity moves to another tiebreak.",
        )
    if after.higher:
        names, verb = _named(after.higher)
        return (
            logging.INFO,
            f"{me} is standing by in favour of {names}, which {verb} a higher priority; "
            "it takes over when they stop.",
        )
    if before is None or not before.paused:
        return logging.INFO, f"{me} is active: no live peer has a higher priority."
    gone = ", ".join(before.in_favour_of)
    return logging.INFO, f"{me} resumes: the peers it stood by for ({gone}) are gone."


def _named(identities: Sequence[str]) -> tuple[str, str]:
    return ", ".join(identities), "has" if len(identities) == 1 else "have"


class PeeringWatch:
    """Watches the peering objects in threads; `standing()` is kopf's decision now."""

    def __init__(
        self,
        api: ApiClient,
        peerings: Sequence[Target],
        identity: str,
        settings: kopf.OperatorSettings,
        clock: Clock = utc_now,
    ) -> None:
        self.api = api
        self.custom = CustomObjectsApi(api)
        self.peerings = tuple(peerings)
        self.identity = identity
        self.settings = settings
        self.clock = clock
        self.salt = 0
        self._statuses: dict[Target, Mapping[str, Any]] = {}
        self._last: Standing | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    @property
    def priority(self) -> int:
        # Kopf reads its settings on every keep-alive and peering event, so a move to
        # another tiebreak takes effect there too.
        return int(self.settings.peering.priority)

    def start(self) -> None:
        for target in self.peerings:
            thread = threading.Thread(
                target=self._watch, args=(target,), name=f"peering {target.describe()}"
            )
            thread.daemon = True
            thread.start()

    def stop(self) -> None:
        # Not joined: a thread blocked in its watch would hold up the pod's shutdown; it
        # is a daemon thread and ends at its next event or when the process exits.
        self._stopped.set()
        self.api.close()  # type: ignore[no-untyped-call]

    def standing(self) -> Standing:
        with self._lock:
            return self._standing(self.clock())

    def probe(self) -> dict[str, Any]:
        """The standing, or "unknown" while a peering object has not been read."""
        with self._lock:
            value = self._standing(self.clock()).probe()
            unread = [target.describe() for target in self.peerings if target not in self._statuses]
        if unread:
            value["state"] = "unknown"
            value["not read yet"] = unread
        return value

    def _standing(self, now: datetime) -> Standing:
        each = (
            standing(self.identity, self.priority, peers_from_status(status, now), now)
            for status in self._statuses.values()
        )
        return combined(each, self.identity, self.priority)

    def observe(self, target: Target, status: Mapping[str, Any] | None) -> None:
        """A new status of one peering object: end a tie, and log a change of standing."""
        with self._lock:
            self._statuses[target] = dict(status or {})
            now = self.clock()
            peers = peers_from_status(status, now)
            salt = next_salt(self.identity, self.priority, self.salt, peers, now)
            if salt is not None:
                self._move(salt, now)
            after = self._standing(now)
            change = transition(self._last, after)
            self._last = after
        if change is not None:
            logger.log(*change)

    def _move(self, salt: int, now: datetime) -> None:
        before = self.priority
        moved = effective_priority(user_priority(before), replica_identity(), salt)
        self.salt = salt
        self.settings.peering.priority = moved
        logger.warning(
            "This replica (%s) ties with a peer at peering priority %d; it moves to %d "
            "(the same --priority, another tiebreak).",
            self.identity,
            before,
            moved,
        )
        for target in self.peerings:
            self._announce(target, now)

    def _announce(self, target: Target, now: datetime) -> None:
        """What kopf's keep-alive writes, now rather than at the next keep-alive."""
        entry = {
            "priority": self.priority,
            "lifetime": int(self.settings.peering.lifetime),
            "lastseen": now.isoformat(),
        }
        body = {"status": {self.identity: entry}}
        try:
            if target.namespace is None:
                self.custom.patch_cluster_custom_object(
                    PEERING_GROUP,
                    PEERING_VERSION,
                    CLUSTER_PLURAL,
                    target.name,
                    body,
                    _content_type=MERGE_PATCH,
                    _request_timeout=REQUEST_TIMEOUT_SECONDS,
                )
            else:
                self.custom.patch_namespaced_custom_object(
                    PEERING_GROUP,
                    PEERING_VERSION,
                    target.namespace,
                    NAMESPACED_PLURAL,
                    target.name,
                    body,
                    _content_type=MERGE_PATCH,
                    _request_timeout=REQUEST_TIMEOUT_SECONDS,
                )
        except ApiException as error:
            # Kopf's next keep-alive announces the new priority anyway.
            logger.warning(
                "Could not announce the new priority in %s: %s %s.",
                target.describe(),
                error.status,
                error.reason,
            )

    def _watch(self, target: Target) -> None:
        failing = False
        while not self._stopped.is_set():
            try:
                self._list_and_watch(target)
                failing = False
            except Exception as error:  # a watch must outlive any failure
                if self._stopped.is_set():
                    return
                # Once per streak of failures: a watch that cannot list (RBAC, a missing
                # CRD) leaves the probe's standing stale, which an operator must hear of.
                level = logging.DEBUG if failing else logging.WARNING
                logger.log(
                    level,
                    "Cannot watch %s, so this replica cannot tell whether it stands by: %s; "
                    "retrying every %.0f s.",
                    target.describe(),
                    error,
                    RETRY_SECONDS,
                )
                failing = True
                self._stopped.wait(RETRY_SECONDS)

    def _list_and_watch(self, target: Target) -> None:
        method, args = self._list_call(target)
        selector = f"metadata.name={target.name}"
        listing = method(*args, field_selector=selector, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        self.observe(target, _status_of(target, listing.get("items") or []))
        version = (listing.get("metadata") or {}).get("resourceVersion")
        stream = watch.Watch()  # type: ignore[no-untyped-call]
        for event in stream.stream(  # type: ignore[no-untyped-call]
            method,
            *args,
            field_selector=selector,
            resource_version=version,
            timeout_seconds=WATCH_SERVER_TIMEOUT_SECONDS,
            _request_timeout=WATCH_CLIENT_TIMEOUT_SECONDS,
        ):
            if self._stopped.is_set():
                stream.stop()  # type: ignore[no-untyped-call]
                return
            kind = event.get("type")
            body = event.get("object") or {}
            if kind == "ERROR":
                if body.get("code") == HTTP_GONE:
                    return  # relist
                raise RuntimeError(str(body.get("message") or body))
            if kind == "DELETED":
                self.observe(target, {})
            else:
                self.observe(target, _status_of(target, [body]))

    def _list_call(self, target: Target) -> tuple[Callable[..., Any], tuple[str, ...]]:
        if target.namespace is None:
            return self.custom.list_cluster_custom_object, (
                PEERING_GROUP,
                PEERING_VERSION,
                CLUSTER_PLURAL,
            )
        return self.custom.list_namespaced_custom_object, (
            PEERING_GROUP,
            PEERING_VERSION,
            target.namespace,
            NAMESPACED_PLURAL,
        )


def _status_of(target: Target, items: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    for item in items:
        if (item.get("metadata") or {}).get("name") == target.name:
            status = item.get("status")
            return status if isinstance(status, Mapping) else {}
    return {}


@kopf.on.startup()
def watch_peering(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Start watching the peering objects, unless the operator runs standalone."""
    options: OperatorOptions = memo.get("options") or OperatorOptions()
    identity: str | None = memo.get("identity")
    memo.peering_watch = None
    peerings = targets(options)
    if not peerings or identity is None:
        return
    peering_watch = PeeringWatch(load_api_client(), peerings, identity, settings)
    peering_watch.start()
    memo.peering_watch = peering_watch


@kopf.on.cleanup()
def stop_watching_peering(memo: kopf.Memo, **_: Any) -> None:
    peering_watch: PeeringWatch | None = memo.get("peering_watch")
    if peering_watch is not None:
        peering_watch.stop()


def peering(memo: kopf.Memo) -> dict[str, Any]:
    """Whether this replica acts or stands by, and for whom; never a failure."""
    peering_watch: PeeringWatch | None = memo.get("peering_watch")
    if peering_watch is None:
        options: OperatorOptions = memo.get("options") or OperatorOptions()
        return {"state": "standalone" if options.standalone else "unknown"}
    return peering_watch.probe()
