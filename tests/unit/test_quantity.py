# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Unit tests for plugins/module_utils/quantity.py: the Kubernetes quantity grammar, exactly."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from decimal import Decimal
from fractions import Fraction

import pytest

from ansible_collections.ocpv.density.plugins.module_utils.quantity import (
    MIB,
    QuantityError,
    is_positive,
    parse_quantity,
    to_bytes,
    to_mib,
)


@pytest.mark.parametrize('text, expected', [
    ('1Ki', 1024),
    ('1Mi', 1024 ** 2),
    ('1Gi', 1024 ** 3),
    ('1Ti', 1024 ** 4),
    ('1Pi', 1024 ** 5),
    ('1Ei', 1024 ** 6),
    ('16Gi', 16 * 1024 ** 3),
])
def test_binary_suffixes(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize('text, expected', [
    ('1n', Fraction(1, 10 ** 9)),
    ('1u', Fraction(1, 10 ** 6)),
    ('1m', Fraction(1, 1000)),
    ('1', 1),
    ('1k', 10 ** 3),
    ('1M', 10 ** 6),
    ('1G', 10 ** 9),
    ('1T', 10 ** 12),
    ('1P', 10 ** 15),
    ('1E', 10 ** 18),
])
def test_decimal_suffixes(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize('text, expected', [
    ('1e3', 1000),
    ('1E6', 10 ** 6),
    ('12e-3', Fraction(12, 1000)),
    ('1.5e2', 150),
    ('2e+2', 200),
    ('1e0', 1),
    ('5E-1', Fraction(1, 2)),
])
def test_exponents(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize('text, expected', [
    ('100m', Fraction(1, 10)),
    ('500m', Fraction(1, 2)),
    ('1500m', Fraction(3, 2)),
    ('0.5', Fraction(1, 2)),
])
def test_milli_cpu(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize('text, expected', [
    ('1.5Gi', 1536 * MIB),
    ('0.5Mi', 512 * 1024),
    ('.5Ki', 512),
    ('5.Ki', 5120),
    ('2.25', Fraction(9, 4)),
    ('0001.500', Fraction(3, 2)),
])
def test_decimals(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize('text, expected', [
    ('-1Gi', -(1024 ** 3)),
    ('+1Gi', 1024 ** 3),
    ('-500m', Fraction(-1, 2)),
    ('-0', 0),
    ('+.5', Fraction(1, 2)),
])
def test_signs(text, expected):
    assert parse_quantity(text) == expected


def test_numbers_as_numbers():
    assert parse_quantity(17179869184) == 16 * 1024 ** 3
    assert parse_quantity(0) == 0
    assert parse_quantity(1.5) == Fraction(3, 2)
    # A float is read through its shortest decimal form: 0.1 is one tenth, not the binary float.
    assert parse_quantity(0.1) == Fraction(1, 10)
    assert parse_quantity(1e20) == 10 ** 20
    assert parse_quantity(Decimal('2.5')) == Fraction(5, 2)
    assert parse_quantity(Fraction(7, 2)) == Fraction(7, 2)


def test_values_are_exact():
    # Float arithmetic would give 0.30000000000000004 here.
    assert parse_quantity('100m') + parse_quantity('200m') == parse_quantity('300m')
    assert parse_quantity('1Gi') == parse_quantity('1024Mi') == parse_quantity('1048576Ki')
    assert parse_quantity('1G') == parse_quantity('1e9') == parse_quantity('1000M')
    assert isinstance(parse_quantity('1Gi'), Fraction)


def test_sub_nano_values_round_away_from_zero_like_kubernetes():
    assert parse_quantity('1.0000000001') == parse_quantity('1.000000001')
    assert parse_quantity('1.0000000001') == parse_quantity('1.0000000002')
    assert parse_quantity('0.1n') == Fraction(1, 10 ** 9)
    assert parse_quantity('-0.1n') == Fraction(-1, 10 ** 9)
    assert parse_quantity('1e-30') == Fraction(1, 10 ** 9)
    assert parse_quantity('0e-30') == 0


def test_surrounding_whitespace_is_ignored():
    assert parse_quantity(' 2Mi\n') == 2 * MIB


def test_string_subclasses_are_accepted():
    class TaggedStr(str):
        pass
    assert parse_quantity(TaggedStr('1Ki')) == 1024


def test_to_bytes_floors():
    assert to_bytes('16Gi') == 17179869184
    assert to_bytes('1.5Ki') == 1536
    assert to_bytes('1500m') == 1
    assert to_bytes('999m') == 0
    assert isinstance(to_bytes('1Gi'), int)


def test_to_mib_floors():
    assert to_mib('16Gi') == 16384
    assert to_mib('1536Ki') == 1
    assert to_mib('2047Ki') == 1
    assert to_mib('1G') == 953
    assert to_mib('125293548Ki') == 122356


def test_is_positive():
    assert is_positive('1m')
    assert not is_positive('0')
    assert not is_positive('-1')


@pytest.mark.parametrize('bad', [
    '', ' ', '.', '+', '-', 'Gi', 'abc', '1K', '1ki', '1KI', '1gi', '1Gb', '1GiB', '1mi', '1e', '1e+', '1e1.5', '1Gi1',
    '--1', '+-1', '1 Gi', '1,5Gi', '1.5.Gi', '0x10', '1_000', '∞', 'NaN', 'inf', '1e1001', '1' * 1001,
])
def test_invalid_strings(bad):
    with pytest.raises(QuantityError) as caught:
        parse_quantity(bad)
    message = str(caught.value)
    assert repr(bad) in message
    assert 'Ki Mi Gi Ti Pi Ei' in message and 'n u m k M G T P E' in message


@pytest.mark.parametrize('bad', [True, False, None, [], {}, float('nan'), float('inf'), Decimal('NaN'), object()])
def test_invalid_types(bad):
    with pytest.raises(QuantityError) as caught:
        parse_quantity(bad)
    assert 'invalid quantity' in str(caught.value)


def test_quantity_error_is_a_value_error():
    assert issubclass(QuantityError, ValueError)
    with pytest.raises(ValueError, match="invalid quantity '12 apples'"):
        to_bytes('12 apples')
