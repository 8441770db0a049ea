"""Parameter values for the `RETURN $p AS p` round-trip tests, shared by every client suite.

Each case sits at a PackStream width boundary (tiny / 8 / 16 / 32 / 64-bit forms), so an
encoder that picks the wrong marker or a decoder that reads the wrong length shows up as a
wrong value, not just a crash. Ids say what the boundary is.
"""

from __future__ import annotations

import math

INTS = [
    -(2**63),
    -(2**31) - 1,
    -(2**31),
    -32769,
    -32768,
    -129,
    -128,
    -17,
    -16,
    -1,
    0,
    1,
    127,
    128,
    32767,
    32768,
    2**31 - 1,
    2**31,
    2**63 - 1,
]

FLOATS = [0.0, -0.0, 1.5, -2.25, 1e308, -1e-308, math.nan, math.inf, -math.inf]


def _ascii(n: int) -> str:
    return "".join(chr(ord("a") + i % 26) for i in range(n))


# Sizes in UTF-8 bytes: tiny (<16), u8, u16, u32 forms and their edges.
STRINGS = {
    "empty": "",
    "15B": _ascii(15),
    "16B": _ascii(16),
    "255B": _ascii(255),
    "256B": _ascii(256),
    "65535B": _ascii(65535),
    "65536B": _ascii(65536),
    "300KB-multichunk": _ascii(300_000),
    "german": "Größenmaßstäbe",
    "cjk": "日本語のテキスト",
    "emoji": "🦀 graph 🚀 ✓",
    "multibyte-65536B": "é" * 32768,
    "nul-and-controls": "a\x00b\n\t\"'\\",
}

BYTES = {
    "0": b"",
    "1": b"\x00",
    "255": bytes(range(255)),
    "256": bytes(range(256)),
    "65536": bytes(range(256)) * 256,
}

LISTS = {
    "empty": [],
    "15": list(range(15)),
    "16": list(range(16)),
    "255": list(range(255)),
    "256": list(range(256)),
    "65536": list(range(65536)),
    "nested-mixed": [1, "two", None, True, 2.5, [3, [4, []]], {"k": [5, {"deep": "x"}]}],
    "strings": ["a", "", "é" * 20],
}

MAPS = {
    "empty": {},
    "15": {f"k{i}": i for i in range(15)},
    "16": {f"k{i}": i for i in range(16)},
    "255": {f"k{i}": i for i in range(255)},
    "256": {f"k{i}": i for i in range(256)},
    "nested": {"a": {"b": {"c": [1, {"d": None}]}}, "e": [], "f": {}, "g": "ü"},
    "unicode-keys": {"名前": "x", "ключ": 1, "": "empty key"},
}


def round_trip_cases(with_bytes: bool = True) -> list[tuple[str, object]]:
    """(id, value) pairs; `with_bytes=False` for clients without a bytes type (pymgclient)."""
    cases: list[tuple[str, object]] = [("null", None), ("true", True), ("false", False)]
    cases += [(f"int[{v}]", v) for v in INTS]
    cases += [(f"float[{v!r}]", v) for v in FLOATS]
    cases += [(f"str[{k}]", v) for k, v in STRINGS.items()]
    if with_bytes:
        cases += [(f"bytes[{k}]", v) for k, v in BYTES.items()]
    cases += [(f"list[{k}]", v) for k, v in LISTS.items()]
    cases += [(f"map[{k}]", v) for k, v in MAPS.items()]
    return cases
