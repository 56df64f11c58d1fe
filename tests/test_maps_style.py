from __future__ import annotations

import pytest

from gridgeo.maps import style


def test_colours_for_is_stable_and_distinct() -> None:
    a = style.colours_for(["450302", "450303", "450302", None])
    b = style.colours_for([None, "450303", "450302"])
    assert a == b
    assert a["450302"] != a["450303"] != a[None]
    assert a["450302"] == style.CATEGORICAL[0]  # sorted keys


def test_sequential_spreads_over_the_ramp() -> None:
    assert style.sequential(1) == (style.SEQUENTIAL[3],)
    five = style.sequential(5)
    assert five[0] == style.SEQUENTIAL[0] and five[-1] == style.SEQUENTIAL[-1]
    assert len(set(five)) == 5
    assert style.sequential(7) == style.SEQUENTIAL
    with pytest.raises(ValueError, match="between 1 and 7"):
        style.sequential(8)


def test_blend_on_white() -> None:
    assert style.blend_on_white("#000000", 1.0) == (0, 0, 0)
    assert style.blend_on_white("#000000", 0.0) == (255, 255, 255)
    assert style.blend_on_white("#ff0000", 0.5) == (255, 128, 128)
    assert style.hex_rgb("#1f77b4") == (31, 119, 180)
