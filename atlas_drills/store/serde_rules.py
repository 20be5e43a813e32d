"""How Atlas's Rust code reads a value, where Python would read it differently.

- `str::trim` strips Unicode `White_Space` characters only; Python's `str.strip` also strips the ASCII separators
  U+001C-U+001F, so a value made of those is blank to Python and not to Atlas.
- `u64` fields reject negative numbers, floats and booleans, and numbers above 2**64 - 1.
"""

from __future__ import annotations

from typing import Any, Final

# The Unicode White_Space property, which Rust's `char::is_whitespace` (and so `str::trim`) uses.
RUST_WHITESPACE: Final = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
U64_MAX: Final = 2**64 - 1


def rust_trim(value: str) -> str:
    """`str::trim`."""
    start, end = 0, len(value)
    while start < end and value[start] in RUST_WHITESPACE:
        start += 1
    while end > start and value[end - 1] in RUST_WHITESPACE:
        end -= 1
    return value[start:end]


def is_blank(value: str) -> bool:
    """`value.trim().is_empty()`: what every Atlas "must not be empty" rule tests."""
    return not rust_trim(value)


def is_u64(value: Any) -> bool:
    """Would serde read this JSON value into a `u64`?"""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= U64_MAX
