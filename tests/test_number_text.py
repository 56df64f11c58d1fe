"""The compiled text-number reader agrees with its regular expressions and float()."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from gridgeo.number_text import (
    BLANK,
    DECIMAL,
    INTEGER,
    IS_DECIMAL,
    IS_INTEGER,
    IS_NUMBER,
    NUMBER,
    WHOLE_ARRAY_FROM,
    _classify,
    classify,
)


def expected(value: str | None) -> tuple[int, float]:
    """The rules as written: regular expressions over the trimmed text, then float()."""
    text = (value or "").strip()
    bits = 0 if text else BLANK
    if NUMBER.fullmatch(text):
        bits |= IS_NUMBER
    if INTEGER.fullmatch(text):
        bits |= IS_INTEGER
    if DECIMAL.fullmatch(text) and NUMBER.fullmatch(text):
        bits |= IS_DECIMAL
    return bits, float(text) if bits & IS_NUMBER else math.nan


def same_float(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def random_values(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    alphabet = "0123456789.-+eE \t\x1c"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(n)]
    values += [repr(rng.uniform(-200, 200)) for _ in range(n // 4)]
    values += [f"{rng.uniform(-200, 200):.{rng.randint(0, 14)}f}" for _ in range(n // 4)]
    values += [f"{rng.uniform(-1e30, 1e30):e}" for _ in range(n // 8)]
    return values


EDGES = [
    "",
    "  ",
    "-0",
    "+0",
    ".",
    "5.",
    ".5",
    "-.5e3",
    "e5",
    "1e",
    "1e+",
    "007",
    "0.5",
    "00.5",
    "9007199254740993",  # beyond 2**53: float() rounds it, so must we
    "123456789012345678901234567890",
    "0.000000000000000000000000001",
    "1e-400",
    "1e400",
    "110.30000000000001",
    "１２３",  # full-width digits are no number (ASCII digits only, as the expressions say)
    "\u3000110.5\u3000",  # an ideographic space is white space
    "东经110度",
    "nan",
    "inf",
    "0x1A",
    "\x1c5\x1f",  # str.strip() takes the ASCII separators away too
    "\x1c5\u3000",
    "0." + "0" * 100_001 + "1e1000000",  # an exponent past the scanner's count: float()'s inf
    "1e99999999999",
    "0.00000000000000000000001",  # 23 decimals
]


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "kernel"])
def test_agrees_with_the_expressions_and_float(compiled: bool) -> None:
    """Both passes, the whole-array numpy one and the numba kernel, give the rules' answers."""
    values = random_values(40_000) + EDGES
    bits, numbers = _classify(pa.array(values), compiled)
    for value, got_bits, got in zip(values, bits.tolist(), numbers.tolist(), strict=True):
        want_bits, want = expected(value)
        assert got_bits == want_bits, value
        assert same_float(got, want), (value, got, want)


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_slices_chunks_and_nulls(kind: pa.DataType) -> None:
    values = [*EDGES, None, "110.25", None]
    array = pa.array(values, type=kind)
    bits, numbers = classify(array)
    assert bits[-3] == BLANK and bits[-1] == BLANK and math.isnan(numbers[-1])
    assert numbers[-2] == 110.25
    # a slice reads its own rows (Arrow offsets), a chunked column all its chunks
    part_bits, part_numbers = classify(array.slice(3, 10))
    assert (part_bits == bits[3:13]).all()
    np.testing.assert_array_equal(part_numbers, numbers[3:13])
    chunked = pa.chunked_array([array.slice(0, 5), array.slice(5)])
    chunk_bits, _ = classify(chunked)
    assert (chunk_bits == bits).all()
    empty_bits, empty_numbers = classify(pa.array([], type=kind))
    assert empty_bits.size == 0 and empty_numbers.size == 0


def test_columns_are_read_without_numba_with_the_kernel_s_answers() -> None:
    """Until a large run loads the kernels (gridgeo.compiled), columns are read by
    whole-array numpy, or value by value under WHOLE_ARRAY_FROM, without numba: the same
    answers as the kernel's (run in a fresh interpreter, where numba is not loaded)."""
    values = [*random_values(2000, seed=11), *EDGES, None]
    script = (
        "import sys, json, pyarrow as pa\n"
        "from gridgeo.number_text import classify\n"
        "out = []\n"
        "for part in json.loads(sys.stdin.read()):\n"
        "    bits, numbers = classify(pa.array(part, type=pa.string()))\n"
        "    out.append([bits.tolist(), [repr(v) for v in numbers.tolist()]])\n"
        "print(json.dumps([out, 'numba' in sys.modules]))\n"
    )
    parts = [values, values[:40], values[:1]]  # whole-array, value by value
    run = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(parts),
        capture_output=True,
        text=True,
        check=True,
    )
    answers, numba_loaded = json.loads(run.stdout)
    assert not numba_loaded and len(parts[1]) < WHOLE_ARRAY_FROM <= len(parts[0])
    for part, (small_bits, small_numbers) in zip(parts, answers, strict=True):
        bits, numbers = _classify(pa.array(part, type=pa.string()), True)  # the kernel
        assert bits.tolist() == small_bits
        assert [repr(v) for v in numbers.tolist()] == small_numbers


@pytest.mark.parametrize(
    "value",
    [
        "1.5",
        "-0",
        "+7",
        "5.",
        ".5",
        "-.5",
        "007",
        "00.5",
        "0.",
        "1.2.3",
        "--5",
        "5-",
        "-",
        ".",
        "abc",
        "１２",
        " 3",
        "3e2",
        "1" * 19,
        "1" * 300,
        "0",
        "-0.0",
        "+.5",
    ],
)
def test_numpy_pass_decides_each_shape_as_the_rules_do(value: str) -> None:
    """The numpy pass's short cuts (tallies of digits, points and signs; the bytes at a
    value's start and end), one shape at a time, among others that take other ways."""
    column = pa.array([value, "110.25", "x", value], type=pa.large_string())
    bits, numbers = _classify(column, False)
    want_bits, want = expected(value)
    assert bits[[0, 3]].tolist() == [want_bits] * 2 and bits[2] == 0
    assert same_float(numbers[0], want) and numbers[1] == 110.25


@pytest.mark.parametrize("block", [1, 3, 16, 1 << 18])
def test_numpy_pass_in_blocks_of_any_size(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tallies are taken a block of text at a time: empty values at a block's start or
    end, and blocks of empty values only, read as in one piece."""
    from gridgeo import number_text

    monkeypatch.setattr(number_text, "_BLOCK_BYTES", block)
    values = ["", "", "12.5", "", "x", "", "", "", "-3", "", "7", "", ""] * 20 + EDGES[:20]
    bits, numbers = _classify(pa.array(values, type=pa.string()), False)
    for value, got_bits, got in zip(values, bits.tolist(), numbers.tolist(), strict=True):
        want_bits, want = expected(value)
        assert got_bits == want_bits, value
        assert same_float(got, want), (value, got, want)


def test_arrow_reads_plain_text_exactly_as_the_rules() -> None:
    """The numpy pass reads values of ASCII digits, "." and "-" with one Arrow cast
    (``_scan_plain``): over those bytes Arrow must accept exactly what NUMBER matches and
    read it as float() does. Every string of up to seven of "-", ".", "0" and "1" (the
    other digits parse as "1" does), one at a time."""
    import itertools

    import pyarrow.compute as pc

    for length in range(1, 8):
        for chars in itertools.product("-.01", repeat=length):
            value = "".join(chars)
            try:
                got = pc.cast(pa.array([value]), pa.float64())[0].as_py()
            except pa.ArrowInvalid:
                assert not NUMBER.fullmatch(value), value
                continue
            assert NUMBER.fullmatch(value), value
            assert same_float(got, float(value)), value


@pytest.mark.parametrize("mixed", [False, True], ids=["plain only", "with text"])
def test_plain_values_read_by_arrow_agree_with_the_rules(mixed: bool) -> None:
    """Every short string of "-", ".", "0" and "5", and long mantissas (beyond 2**53, more
    digits than a double holds), alone or beside text and blanks that the tallies read."""
    import itertools

    rng = random.Random(3)
    values = ["".join(c) for n in range(1, 6) for c in itertools.product("-.05", repeat=n)]
    values += [
        f"{rng.choice(['', '-'])}{rng.randint(1, 10**30)}.{rng.randint(0, 10**25):025d}"
        for _ in range(2000)
    ]
    if mixed:
        values += ["", " 7", "abc", "1e5", "+3", "东"] * 10
    rng.shuffle(values)
    bits, numbers = _classify(pa.array(values, type=pa.string()), False)
    for value, got_bits, got in zip(values, bits.tolist(), numbers.tolist(), strict=True):
        want_bits, want = expected(value)
        assert got_bits == want_bits, value
        assert same_float(got, want), (value, got, want)


def test_a_column_of_plain_numbers_reads_without_the_tallies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Coordinates and ids, digits with a point and a minus sign: one Arrow cast reads them
    all; the tallies run only for the values of other bytes."""
    from gridgeo import number_text

    tallied: list[int] = []
    tally = number_text._tallies

    def counting(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
        tallied.append(offsets.size - 1)
        return tally(offsets, data)

    monkeypatch.setattr(number_text, "_tallies", counting)
    column = pa.array([f"{110 + i / 1e4:.6f}" for i in range(1000)] + ["-31.5", "007"])
    bits, numbers = _classify(column, False)
    assert tallied == [] and numbers[0] == 110.0 and numbers[-2] == -31.5
    assert bits[0] == IS_NUMBER | IS_DECIMAL and bits[-1] == IS_NUMBER
    bits, _ = _classify(pa.array([*column.to_pylist(), "abc"]), False)
    assert tallied == [1] and bits[-1] == 0  # only the value of other bytes
    bits, _ = _classify(pa.array([*column.to_pylist(), "1.2.3"]), False)
    assert tallied == [1, 1003] and bits[-1] == 0  # a plain value the cast refuses: all


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
@pytest.mark.parametrize(
    "values",
    [
        ["1.5"] * 100 + [""] * 5,  # numbers and blanks: the blanks alone hold no text
        ["1.5"] * 100 + [None] * 5,
        [""] * 100,
        [None] * 100,
        ["1.5", "12", "100", "0.25", "-7", "007"] * 20,  # large_string: int64 positions
        ["  ", "1.5", None, "", "x"] * 20,
    ],
    ids=["blanks", "nulls", "all blank", "all null", "points", "mixed"],
)
def test_columns_with_blanks_nulls_or_no_text_read_as_the_rules(
    kind: pa.DataType, values: list[str | None]
) -> None:
    """The numpy pass on columns whose other values hold no text at all (blanks, nulls),
    and in both string types, gives the rules' answers."""
    bits, numbers = _classify(pa.array(values, type=kind), False)
    for value, got_bits, got in zip(values, bits.tolist(), numbers.tolist(), strict=True):
        want_bits, want = expected(value)
        assert got_bits == want_bits, value
        assert same_float(got, want), (value, got, want)


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "kernel"])
@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_random_columns_of_every_mix_read_as_the_rules(kind: pa.DataType, compiled: bool) -> None:
    """Hundreds of columns drawn from a few kinds of value each (plain numbers, blanks,
    nulls, signs and exponents, text, long digits), some of them sliced: whatever the
    mix, the numpy pass gives the rules' answers."""
    rng = random.Random(5)
    pools = [
        ["1.5", "-0.25", "110.3005", "7", "0", "-0", "007", ".5", "5."],
        ["", None],
        ["  ", " 3 ", "+1", "1e5", "-.5E-3"],
        ["x", "东", "1.2.3", "--1", "-", "."],
        ["1" * 30, "9" * 19 + ".5"],
    ]
    for _ in range(150):
        chosen = rng.sample(pools, rng.randint(1, len(pools)))
        values = [rng.choice(rng.choice(chosen)) for _ in range(rng.randint(64, 200))]
        array = pa.array(values, type=kind)
        start = rng.randint(0, 3)
        part, part_values = array.slice(start), values[start:]
        bits, numbers = _classify(part, compiled)
        for value, got_bits, got in zip(part_values, bits.tolist(), numbers.tolist(), strict=True):
            want_bits, want = expected(value)
            assert got_bits == want_bits, (value, chosen)
            assert same_float(got, want), (value, got, want)
