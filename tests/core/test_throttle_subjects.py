from __future__ import annotations

from eros.core.throttle_subjects import (
    UNKNOWN_ADDRESS,
    address_subject,
    email_subject,
    network_of,
)


def test_an_ipv6_address_counts_as_its_slash_64_and_an_ipv4_one_as_itself() -> None:
    assert (
        network_of("2001:db8:1:2::7") == network_of("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    )
    assert network_of("203.0.113.9") == "203.0.113.9"
    assert network_of("::ffff:203.0.113.9") == "203.0.113.9"
    assert network_of(None) == UNKNOWN_ADDRESS
    assert network_of("testclient") == "testclient"


def test_subjects_hold_no_readable_address_and_ignore_an_emails_case() -> None:
    assert "203.0.113.9" not in address_subject("203.0.113.9")
    assert email_subject("Ann@Example.com") == email_subject(" ann@example.com")
    assert "ann" not in email_subject("ann@example.com")
    assert address_subject("203.0.113.9") != address_subject("203.0.113.10")
