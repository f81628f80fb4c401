"""Kubernetes quantities."""

from __future__ import annotations

from fractions import Fraction

import pytest

from eros.operator.quantity import (
    QuantityError,
    cpu_millicores,
    format_millicores,
    is_quantity,
    memory_bytes,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", Fraction(1)),
        ("250m", Fraction(1, 4)),
        ("1.5", Fraction(3, 2)),
        (".5", Fraction(1, 2)),
        ("2k", Fraction(2000)),
        ("1Ki", Fraction(1024)),
        ("512Mi", Fraction(512 * 2**20)),
        ("1e3", Fraction(1000)),
        ("1E-3", Fraction(1, 1000)),
        ("+3", Fraction(3)),
        ("-2", Fraction(-2)),
        (4, Fraction(4)),
        (0.5, Fraction(1, 2)),
    ],
)
def test_quantities_parse_exactly(text: str | int | float, value: Fraction) -> None:
    assert parse_quantity(text) == value
    assert is_quantity(text)


@pytest.mark.parametrize("text", ["", "m", "1.2.3", "12 gigs", "1KB", "1i", "0x10", "1e"])
def test_what_is_not_a_quantity_is_refused(text: str) -> None:
    assert not is_quantity(text)
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_booleans_are_not_quantities() -> None:
    assert not is_quantity(True)


def test_cpu_is_counted_in_whole_millicores_rounded_up() -> None:
    assert cpu_millicores("1") == 1000
    assert cpu_millicores("250m") == 250
    assert cpu_millicores("0.0005") == 1
    assert cpu_millicores("100u") == 1
    with pytest.raises(QuantityError):
        cpu_millicores("-1")


def test_memory_is_counted_in_whole_bytes() -> None:
    assert memory_bytes("1Gi") == 2**30
    assert memory_bytes("1.5k") == 1500
    with pytest.raises(QuantityError):
        memory_bytes("-1Mi")


def test_millicores_format_as_the_canonical_cpu_quantity() -> None:
    assert format_millicores(0) == "0"
    assert format_millicores(3000) == "3"
    assert format_millicores(2500) == "2500m"
