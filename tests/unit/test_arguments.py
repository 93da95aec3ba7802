"""The type predicates the argument checks share: is_int, is_number, is_finite_number."""

from __future__ import annotations

import math
from typing import Any

import pytest

from amazon_music_browse._arguments import is_finite_number, is_int, is_number

# value: (is_int, is_number, is_finite_number)
CASES: list[tuple[Any, tuple[bool, bool, bool]]] = [
    (True, (False, False, False)),
    (False, (False, False, False)),
    (0, (True, True, True)),
    (1, (True, True, True)),
    (-7, (True, True, True)),
    (2**64, (True, True, True)),
    (10**400, (True, True, False)),  # too large for a float: not an OverflowError
    (0.0, (False, True, True)),
    (-2.5, (False, True, True)),
    (1.0, (False, True, True)),
    (math.nan, (False, True, False)),
    (math.inf, (False, True, False)),
    (-math.inf, (False, True, False)),
    ("1", (False, False, False)),
    ("1.5", (False, False, False)),
    ("", (False, False, False)),
    (None, (False, False, False)),
    (b"1", (False, False, False)),
    ([1], (False, False, False)),
    (1j, (False, False, False)),
]


@pytest.mark.parametrize(("value", "expected"), CASES, ids=[repr(value) for value, _ in CASES])
def test_the_type_predicates(value: Any, expected: tuple[bool, bool, bool]) -> None:
    assert (is_int(value), is_number(value), is_finite_number(value)) == expected
