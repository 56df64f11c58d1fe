"""The compiled pass of :mod:`gridgeo.number_text`: one scan of an Arrow string buffer
that classifies every value and reads its number (see that module for the rules).

Kept apart so that numba and LLVM load only when a batch is large enough to pay for
them (0.5 s of a process's start-up): smaller ones are read by the rules themselves.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from gridgeo.number_text import BLANK, IS_DECIMAL, IS_INTEGER, IS_NUMBER, SLOW

_MAX_EXACT = 2**53


@numba.njit(cache=True, nogil=True, inline="always")
def _is_space(c: int) -> bool:
    # what str.strip() takes away in ASCII: tab to carriage return, the file, group,
    # record and unit separators (28-31) and the space
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31


@numba.njit(cache=True, nogil=True)
def scan(  # noqa: PLR0912, PLR0915 - one state machine, kept in one piece for speed
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    powers: npt.NDArray[np.float64],
    flags: npt.NDArray[np.uint8],
    values: npt.NDArray[np.float64],
) -> None:
    for i in range(flags.size):
        start, end = offsets[i], offsets[i + 1]
        slow = False
        for k in range(start, end):
            if data[k] >= 128:
                slow = True
                break
        if slow:
            flags[i] = SLOW
            values[i] = np.nan
            continue
        while start < end and _is_space(data[start]):
            start += 1
        while end > start and _is_space(data[end - 1]):
            end -= 1
        if start == end:
            flags[i] = BLANK
            values[i] = np.nan
            continue
        k = start
        negative = False
        plus = data[k] == 43  # '+'
        if data[k] == 45 or plus:  # '-'
            negative = data[k] == 45
            k += 1
        int_start = k
        while k < end and 48 <= data[k] <= 57:
            k += 1
        n_int = k - int_start
        dot = k < end and data[k] == 46  # '.'
        n_frac = 0
        if dot:
            k += 1
            frac_start = k
            while k < end and 48 <= data[k] <= 57:
                k += 1
            n_frac = k - frac_start
        exponent = 0
        exp_ok = True
        has_exp = k < end and (data[k] == 101 or data[k] == 69)  # 'e' 'E'
        if has_exp:
            k += 1
            exp_negative = False
            if k < end and (data[k] == 43 or data[k] == 45):
                exp_negative = data[k] == 45
                k += 1
            exp_start = k
            while k < end and 48 <= data[k] <= 57:
                if exponent < 100000:  # beyond, the value is Python's to say (below)
                    exponent = exponent * 10 + (data[k] - 48)
                k += 1
            exp_ok = k > exp_start
            if exp_negative:
                exponent = -exponent
        whole = k == end and exp_ok
        bits = 0
        if whole and (n_int > 0 or n_frac > 0):
            bits |= IS_NUMBER
            lead_zero = n_int > 1 and data[int_start] == 48
            unsigned_or_minus = not plus
            if unsigned_or_minus and not lead_zero:
                if not dot and not has_exp and 0 < n_int <= 18:
                    bits |= IS_INTEGER
                # DECIMAL: (0|[1-9][0-9]*)? then (\.[0-9]+)?: a point needs digits after it
                if not dot or n_frac > 0:
                    bits |= IS_DECIMAL
        flags[i] = bits
        values[i] = np.nan
        if bits & IS_NUMBER == 0:
            continue
        # the value: every digit into one integer mantissa, then one exact scaling
        mantissa = 0
        digits = 0
        for j in range(int_start, int_start + n_int + (1 if dot else 0) + n_frac):
            c = data[j]
            if c == 46:
                continue
            if digits > 0 or c != 48:
                digits += 1
            if digits > 18:
                break
            mantissa = mantissa * 10 + (c - 48)
        scale = exponent - n_frac
        if digits > 18 or mantissa > _MAX_EXACT or not -22 <= scale <= 22 or n_frac > 22:
            flags[i] = bits | SLOW
            continue
        value = float(mantissa)
        value = value * powers[scale] if scale >= 0 else value / powers[-scale]
        values[i] = -value if negative else value
