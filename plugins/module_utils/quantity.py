# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Kubernetes resource quantities (``resource.Quantity``) in pure Python.

Grammar (k8s.io/apimachinery/pkg/api/resource/quantity.go)::

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= <number> | <sign><number>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <sign>            ::= "+" | "-"
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedInteger> | "E" <signedInteger>

Values are exact (``fractions.Fraction``). Like Kubernetes, a non-zero value finer than
1n (10^-9) is rounded away from zero to the next nano, so ``1.0000000001`` and
``1.0000000002`` compare equal here exactly as they do in the apiserver. Two deliberate
differences: surrounding whitespace is ignored (as ``Quantity.UnmarshalJSON`` does), and
binary-suffixed values above 2^63-1 are not capped (nothing this collection sizes comes
near 8 EiB).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import functools
import math
import re
from decimal import Decimal
from fractions import Fraction

MIB = 1024 * 1024

_BINARY_SUFFIXES = {
    'Ki': 1024,
    'Mi': 1024 ** 2,
    'Gi': 1024 ** 3,
    'Ti': 1024 ** 4,
    'Pi': 1024 ** 5,
    'Ei': 1024 ** 6,
}

_DECIMAL_SUFFIXES = {
    'n': Fraction(1, 10 ** 9),
    'u': Fraction(1, 10 ** 6),
    'm': Fraction(1, 10 ** 3),
    '': Fraction(1),
    'k': Fraction(10 ** 3),
    'M': Fraction(10 ** 6),
    'G': Fraction(10 ** 9),
    'T': Fraction(10 ** 12),
    'P': Fraction(10 ** 15),
    'E': Fraction(10 ** 18),
}

# Kubernetes accepts any int32 exponent; Python would happily build 10**2147483647 and hang.
# No real quantity needs more than a few dozen digits, so bound it.
MAX_EXPONENT = 1000
MAX_DIGITS = 1000

NANOS_PER_UNIT = 10 ** 9
_NANO = Fraction(1, NANOS_PER_UNIT)

_QUANTITY_RE = re.compile(
    r'(?P<sign>[+-]?)'
    r'(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?'
    r'(?P<suffix>[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE]?)\Z'
)

ACCEPTED = (
    "a Kubernetes quantity: an optionally signed decimal number (e.g. 16, 1.5, .5) followed by "
    "an optional suffix: binary Ki Mi Gi Ti Pi Ei, decimal n u m k M G T P E, or an exponent "
    "e<int>/E<int> (e.g. 16Gi, 500m, 1e3); or an int/float"
)


class QuantityError(ValueError):
    """A value is not a valid Kubernetes quantity."""


def _error(value, reason=None):
    detail = " ({0})".format(reason) if reason else ""
    return QuantityError("invalid quantity {0!r}{1}: expected {2}".format(value, detail, ACCEPTED))


def _round_up_to_nano(value):
    """Round a non-zero value away from zero to a whole number of nanos, as Kubernetes does."""
    scaled = value / _NANO
    if scaled.denominator == 1:
        return value
    whole = math.ceil(scaled) if value > 0 else math.floor(scaled)
    return whole * _NANO


def _multiplier(suffix, original):
    if suffix in _BINARY_SUFFIXES:
        return Fraction(_BINARY_SUFFIXES[suffix])
    if suffix in _DECIMAL_SUFFIXES:
        return _DECIMAL_SUFFIXES[suffix]
    exponent = int(suffix[1:])
    if abs(exponent) > MAX_EXPONENT:
        raise _error(original, "exponent beyond +/-{0}".format(MAX_EXPONENT))
    return Fraction(10) ** exponent


@functools.lru_cache(maxsize=65536)
def _parse_string(text):
    """Parse one quantity string. Cached: API objects repeat the same few strings endlessly."""
    stripped = text.strip()
    match = _QUANTITY_RE.match(stripped)
    if not match or not (match.group('int') or match.group('frac')):
        raise _error(text)
    fraction_digits = match.group('frac') or ''
    if len(match.group('int')) + len(fraction_digits) > MAX_DIGITS:
        raise _error(text, "more than {0} digits".format(MAX_DIGITS))
    mantissa = Fraction(int(match.group('int') + fraction_digits), 10 ** len(fraction_digits))
    value = mantissa * _multiplier(match.group('suffix'), text)
    if match.group('sign') == '-':
        value = -value
    return _round_up_to_nano(value) if value else Fraction(0)


def parse_quantity(quantity):
    """Return the exact value of a Kubernetes quantity as a ``Fraction``.

    Accepts a quantity string, an int, a float (read via its shortest decimal form, so
    ``0.1`` is one tenth, not the nearest binary float), a ``Decimal`` or a ``Fraction``.
    Booleans, NaN, infinities and anything else raise ``QuantityError``.
    """
    if isinstance(quantity, bool):
        raise _error(quantity, "a boolean is not a quantity")
    if isinstance(quantity, str):
        return _parse_string(str(quantity))
    if isinstance(quantity, int):
        return Fraction(quantity)
    if isinstance(quantity, float):
        if not math.isfinite(quantity):
            raise _error(quantity, "not a finite number")
        return _parse_string(repr(quantity))
    if isinstance(quantity, Decimal):
        if not quantity.is_finite():
            raise _error(quantity, "not a finite number")
        return _round_up_to_nano(Fraction(quantity))
    if isinstance(quantity, Fraction):
        return _round_up_to_nano(quantity)
    raise _error(quantity, "type {0} is not a quantity".format(type(quantity).__name__))


def to_nanos(quantity):
    """Exact value in units of 10^-9 (Kubernetes' finest precision) as an int.

    Ints add and compare far faster than Fractions; used where many quantities are summed.
    """
    if isinstance(quantity, str):
        return nanos_of_string(str(quantity))
    return int(parse_quantity(quantity) * NANOS_PER_UNIT)


@functools.lru_cache(maxsize=65536)
def nanos_of_string(text):
    """``to_nanos`` for a plain ``str``, cached; the hot path when reading many pods."""
    return int(_parse_string(text) * NANOS_PER_UNIT)


def to_bytes(quantity):
    """Whole bytes in a quantity (floor), e.g. ``to_bytes('1.5Ki') == 1536``."""
    return math.floor(parse_quantity(quantity))


def to_mib(quantity):
    """Whole MiB in a quantity (floor of bytes / 2^20), e.g. ``to_mib('1536Ki') == 1``."""
    return to_bytes(quantity) // MIB


def is_positive(quantity):
    """True when the quantity is greater than zero (Kubernetes ignores zero and negative requests)."""
    return parse_quantity(quantity) > 0
