"""Kubernetes resource quantities ("250m", "1.5", "512Mi", "1e3"), parsed exactly.

The planner works in whole millicores so that budgets compare without rounding
surprises; memory only needs to be validated, so it parses to bytes.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from fractions import Fraction

MILLICORES_PER_CORE = 1000

_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SUFFIXES = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
# The grammar of k8s.io/apimachinery/pkg/api/resource: a signed decimal number, then
# either a binary or decimal SI suffix or a decimal exponent.
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> Fraction:
    """The exact value of a quantity in its base unit (cores, bytes)."""
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise QuantityError(f"{value!r} is not a quantity")
    try:
        number = Fraction(Decimal(match["number"]))
    except InvalidOperation as error:  # pragma: no cover - the regex admits only decimals
        raise QuantityError(f"{value!r} is not a quantity") from error
    suffix = match["suffix"] or ""
    if suffix in _BINARY_SUFFIXES:
        return number * _BINARY_SUFFIXES[suffix]
    if suffix in _DECIMAL_SUFFIXES:
        return number * _DECIMAL_SUFFIXES[suffix]
    return number * Fraction(10) ** int(suffix[1:])


def is_quantity(value: str | int | float) -> bool:
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def cpu_millicores(value: str | int | float) -> int:
    """CPU in whole millicores, rounded up as Kubernetes does for requests below 1m."""
    cores = parse_quantity(value)
    if cores < 0:
        raise QuantityError(f"{value!r} is a negative CPU quantity")
    millicores = Decimal(cores.numerator * MILLICORES_PER_CORE) / Decimal(cores.denominator)
    return int(millicores.to_integral_value(rounding=ROUND_CEILING))


def memory_bytes(value: str | int | float) -> int:
    """Memory in whole bytes, rounded up."""
    amount = parse_quantity(value)
    if amount < 0:
        raise QuantityError(f"{value!r} is a negative memory quantity")
    return -(-amount.numerator // amount.denominator)


def format_millicores(millicores: int) -> str:
    """The canonical CPU quantity: whole cores as "2", anything else as "2500m"."""
    if millicores % MILLICORES_PER_CORE == 0:
        return str(millicores // MILLICORES_PER_CORE)
    return f"{millicores}m"
