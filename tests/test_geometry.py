"""Boxes, IoU, smart_resize (against transformers' own) and frame conversions."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from shapely.geometry import box as shapely_box

from gui_agent_rl.schemas import Box, CoordinateFrame, ImageFrame, Point, iou, smart_resize, visual_tokens
from gui_agent_rl.schemas.geometry import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS


class TestBox:
    def test_center_area_and_contains(self):
        b = Box(10, 20, 30, 60)
        assert b.center == Point(20, 40)
        assert b.area == 800
        assert b.contains(Point(10, 60)) and not b.contains(Point(9.9, 40))

    def test_scaled_about_center_keeps_the_centre(self):
        b = Box(0, 0, 10, 20).scaled_about_center(2.0)
        assert b == Box(-5, -10, 15, 30)

    def test_iou_examples(self):
        assert iou(Box(0, 0, 10, 10), Box(0, 0, 10, 10)) == 1.0
        assert iou(Box(0, 0, 10, 10), Box(10, 0, 20, 10)) == 0.0
        assert iou(Box(0, 0, 10, 10), Box(5, 0, 15, 10)) == pytest.approx(1 / 3)
        assert iou(Box(0, 0, 0, 0), Box(0, 0, 0, 0)) == 0.0

    @given(st.lists(st.integers(0, 500), min_size=8, max_size=8))
    def test_iou_matches_shapely(self, v):
        a = Box(min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3]))
        b = Box(min(v[4], v[6]), min(v[5], v[7]), max(v[4], v[6]), max(v[5], v[7]))
        sa, sb = shapely_box(*a.as_tuple()), shapely_box(*b.as_tuple())
        union = sa.union(sb).area
        expected = sa.intersection(sb).area / union if union else 0.0
        assert iou(a, b) == pytest.approx(expected, abs=1e-9)
        assert 0.0 <= iou(a, b) <= 1.0


try:  # transformers is in the [train] extra; the core must agree with it wherever it is installed
    import transformers.models.qwen2_vl.image_processing_qwen2_vl as QWEN
except ImportError:  # pragma: no cover - data-only installs
    QWEN = None


class TestSmartResize:
    def test_phone_screen_at_default_limits(self):
        assert smart_resize(2400, 1080) == (2408, 1092)

    def test_phone_screen_at_one_megapixel(self):
        assert smart_resize(2400, 1080, max_pixels=1003520) == (1484, 672)

    def test_small_image_is_grown_to_min_pixels(self):
        h, w = smart_resize(10, 10)
        assert h * w >= DEFAULT_MIN_PIXELS and h % 28 == 0 and w % 28 == 0

    def test_extreme_aspect_ratio_is_refused(self):
        with pytest.raises(ValueError, match="aspect ratio"):
            smart_resize(10, 3000)

    def test_visual_tokens_of_a_phone_screen(self):
        assert visual_tokens(1080, 2400, max_pixels=1003520) == (1484 // 28) * (672 // 28)

    @pytest.mark.skipif(QWEN is None, reason="transformers not installed")
    @given(
        st.integers(28, 4000),
        st.integers(28, 4000),
        st.sampled_from([(3136, 12845056), (3136, 1003520), (200704, 401408), (784, 2352000)]),
    )
    def test_agrees_with_transformers(self, h, w, limits):
        assume(max(h, w) / min(h, w) <= 200)
        lo, hi = limits
        assert smart_resize(h, w, min_pixels=lo, max_pixels=hi) == QWEN.smart_resize(
            h, w, factor=28, min_pixels=lo, max_pixels=hi
        )


class TestFrames:
    def test_resized_point_converts_back_to_original_pixels(self):
        frame = ImageFrame(1080, 2400)  # resized to 1092 x 2408
        p = frame.to_original(Point(546, 1204), CoordinateFrame.RESIZED)
        assert (p.x, p.y) == pytest.approx((540, 1200))

    def test_one_megapixel_frame_scales_by_the_resized_size(self):
        frame = ImageFrame(1080, 2400, max_pixels=1003520)
        assert frame.resized_size() == (672, 1484)
        p = frame.to_original(Point(672, 1484), "resized")
        assert (p.x, p.y) == pytest.approx((1080, 2400))

    def test_norm1000_corner_is_the_image_corner(self):
        frame = ImageFrame(1080, 2400)
        assert frame.to_original(Point(1000, 1000), "norm1000") == Point(1080, 2400)

    def test_box_conversion(self):
        frame = ImageFrame(1080, 2400)
        b = frame.convert_box(Box(108, 240, 540, 1200), "original", "norm1000")
        assert b.as_tuple() == pytest.approx((100, 100, 500, 500))

    @given(
        st.integers(100, 4000),
        st.integers(100, 4000),
        st.floats(0, 4000),
        st.floats(0, 4000),
        st.sampled_from(list(CoordinateFrame)),
        st.sampled_from(list(CoordinateFrame)),
        st.sampled_from([DEFAULT_MAX_PIXELS, 1003520, 401408]),
    )
    def test_conversion_round_trips(self, w, h, x, y, src, dst, max_pixels):
        assume(max(h, w) / min(h, w) <= 200)
        frame = ImageFrame(w, h, max_pixels=max_pixels)
        p = Point(x, y)
        back = frame.convert_point(frame.convert_point(p, src, dst), dst, src)
        assert math.isclose(back.x, x, rel_tol=1e-9, abs_tol=1e-6)
        assert math.isclose(back.y, y, rel_tol=1e-9, abs_tol=1e-6)
