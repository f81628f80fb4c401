"""Whom an account-protection limit counts against, as a Redis key part.

A client address or an email goes into Redis keys only hashed: the keys then hold no
readable personal data, and outlive neither their TTLs nor a deleted account's name. An
IPv6 client counts by its /64, since one subscriber is routinely given a whole /64 and
could otherwise rotate addresses for free.
"""

from __future__ import annotations

import ipaddress

from eros.core.keys import key_digest

__all__ = ["UNKNOWN_ADDRESS", "address_subject", "email_subject", "network_of"]

# One subscriber's share of IPv6 space.
IPV6_SUBSCRIBER_PREFIX_BITS = 64
# A request without a peer address (a test transport, a Unix socket) counts as this one.
UNKNOWN_ADDRESS = "unknown"


def _digest(text: str) -> str:
    return key_digest(text.encode())


def network_of(host: str | None) -> str:
    """The address a limit counts: IPv4 as is, IPv6 by its /64, anything else verbatim."""
    if not host:
        return UNKNOWN_ADDRESS
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_SUBSCRIBER_PREFIX_BITS}", strict=False))
    return str(address)


def address_subject(host: str | None) -> str:
    return "a-" + _digest(network_of(host))


def email_subject(email: str) -> str:
    # Lower-cased like the database's unique index on lower(email): one account, one key.
    return "e-" + _digest(email.strip().lower())
