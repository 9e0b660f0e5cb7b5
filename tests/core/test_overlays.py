"""Masks made visible: colours, blends, outlines, error maps, generated palettes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.datasets.readers.masks import bit_palette
from core.masks.overlays import (
    ERROR_COLOURS,
    FALSE_NEGATIVE,
    FALSE_POSITIVE,
    IGNORE_DARK,
    IGNORE_LIGHT,
    NO_ERROR,
    SUSPECT_EDGE,
    SUSPECT_FILL,
    TRUE_POSITIVE,
    WRONG,
    OverlayStyle,
    background_classes,
    blend,
    class_presence,
    classes_present,
    colourise,
    distinct_palette,
    error_colours,
    error_map,
    outline_colours,
    outlines,
    palette_for,
    render,
    resize_mask,
    suspect_colours,
    suspect_ring,
)

VOC = bit_palette(21)


def lab(colours: np.ndarray) -> np.ndarray:
    out = cv2.cvtColor(np.asarray(colours, np.uint8)[None], cv2.COLOR_RGB2LAB)[0].astype(np.float64)
    out[:, 0] *= 100 / 255
    out[:, 1:] -= 128
    return out


def test_colourise_paints_each_class_in_its_palette_colour():
    mask = np.array([[0, 1, 2], [15, 20, 1]], dtype=np.uint8)
    rgba = colourise(mask, VOC)
    np.testing.assert_array_equal(rgba[..., :3], VOC[mask])
    assert (rgba[..., 3] == 255).all()
    np.testing.assert_array_equal(rgba[1, 0, :3], (192, 128, 128))  # VOC's person


def test_background_and_unknown_values_are_transparent():
    mask = np.array([[0, 1, 30]], dtype=np.int32)  # 30: no colour for it
    rgba = colourise(mask, VOC, transparent=(0,))
    assert rgba[0, :, 3].tolist() == [0, 255, 0]
    assert background_classes(["__background__", "cat", "Background", "road"]) == (0, 2)


def test_ignored_pixels_are_hatched_in_two_greys_never_a_class_colour():
    mask = np.full((8, 8), 255, dtype=np.uint8)
    rgba = colourise(mask, VOC)
    colours = {tuple(c) for c in rgba[..., :3].reshape(-1, 3)}
    assert colours == {IGNORE_DARK, IGNORE_LIGHT}
    assert (rgba[..., 3] == 255).all()
    assert not colours & {tuple(c) for c in VOC}
    # stripes: neighbours along a row alternate in pairs
    assert rgba[0, 0, 0] != rgba[0, 2, 0]


def test_blend_moves_each_pixel_toward_the_overlay_by_the_opacity():
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (200, 0, 100, 255)  # opaque
    rgba[0, 1] = (200, 0, 100, 0)  # transparent
    rgba[1, 0] = (200, 0, 100, 128)  # half
    out = blend(image, rgba, 0.5)
    assert out[0, 0].tolist() == [150, 50, 100]
    assert out[0, 1].tolist() == [100, 100, 100]
    assert out[1, 0].tolist() == [125, 75, 100]  # 100 + (200 - 100) * 0.5 * 128/255, rounded
    np.testing.assert_array_equal(blend(image, rgba, 1.0)[0, 0], (200, 0, 100))
    np.testing.assert_array_equal(blend(image, rgba, 0.0), image)
    with pytest.raises(ValueError):
        blend(image, np.zeros((3, 2, 4), np.uint8), 0.5)


def test_render_follows_the_style():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    mask = np.ones((4, 4), dtype=np.uint8)
    assert render(image, mask, VOC, OverlayStyle(visible=False)) is image
    np.testing.assert_array_equal(render(image, mask, VOC, OverlayStyle(opacity=1.0))[0, 0], VOC[1])
    mask[1:3, 1:3] = 2
    outlined = render(image, mask, VOC, OverlayStyle(opacity=1.0, outlines=True))
    assert outlined[0, 0].tolist() == [0, 0, 0]  # the inside of a region stays the image
    np.testing.assert_array_equal(outlined[1, 1], VOC[2])  # its border takes the class colour


def test_outlines_mark_both_sides_of_every_boundary_and_nothing_else():
    mask = np.zeros((6, 6), dtype=np.uint8)
    mask[2:4, 2:4] = 1
    edge = outlines(mask)
    expected = np.zeros((6, 6), dtype=bool)
    expected[1:5, 2:4] = expected[2:4, 1:5] = True  # the square and its 4-neighbours outside
    np.testing.assert_array_equal(edge, expected)
    assert not outlines(np.zeros((5, 5), np.uint8)).any()
    assert outlines(mask, width=3).sum() > edge.sum()
    rgba = outline_colours(mask, VOC, transparent=(0,))
    assert rgba[..., 3].astype(bool).sum() == 4  # the square's pixels: all on its border; background is clear


def test_error_map_for_a_class_and_for_every_wrong_pixel():
    truth = np.array([[1, 1, 0, 255], [2, 0, 1, 1]], dtype=np.uint8)
    pred = np.array([[1, 0, 1, 1], [2, 2, 1, 0]], dtype=np.uint8)
    codes = error_map(truth, pred, class_index=1)
    assert codes.tolist() == [
        [TRUE_POSITIVE, FALSE_NEGATIVE, FALSE_POSITIVE, NO_ERROR],  # ignored truth: no error
        [NO_ERROR, NO_ERROR, TRUE_POSITIVE, FALSE_NEGATIVE],
    ]
    wrong = error_map(truth, pred)
    assert wrong.tolist() == [[0, WRONG, WRONG, 0], [0, WRONG, 0, WRONG]]
    rgba = error_colours(codes)
    np.testing.assert_array_equal(rgba[0, 0], ERROR_COLOURS[TRUE_POSITIVE])
    assert rgba[0, 3, 3] == 0
    with pytest.raises(ValueError):
        error_map(truth, pred[:, :3])


def test_error_colours_are_told_apart():
    colours = lab(ERROR_COLOURS[1:, :3])
    distances = np.linalg.norm(colours[:, None] - colours[None], axis=-1)
    assert distances[~np.eye(len(colours), dtype=bool)].min() > 30


@pytest.mark.parametrize("n", [2, 10, 21, 40])
def test_generated_palettes_are_distinct_and_stable(n):
    palette = distinct_palette(n)
    assert palette.shape == (n, 3) and palette.dtype == np.uint8
    colours = lab(palette)
    distances = np.linalg.norm(colours[:, None] - colours[None], axis=-1)
    # CIELab distance: ~2.3 is "just noticeable"; 20 is plainly a different colour
    assert distances[~np.eye(n, dtype=bool)].min() > 20
    assert (np.hypot(colours[:, 1], colours[:, 2]) > 20).all()  # no greys: those mean "ignored"
    np.testing.assert_array_equal(palette, distinct_palette(n))
    np.testing.assert_array_equal(distinct_palette(n + 5)[:n], palette)  # more classes keep the first colours


def test_palette_for_keeps_the_datasets_colours_and_completes_them():
    assert palette_for(None, 5).shape == (5, 3)
    np.testing.assert_array_equal(palette_for(VOC, 21), VOC)
    longer = palette_for(VOC[:3], 6)
    np.testing.assert_array_equal(longer[:3], VOC[:3])
    assert len({tuple(c) for c in longer}) == 6


def test_class_presence_ignores_void_and_counts_once():
    mask = np.array([[0, 3, 3], [255, 3, 1]], dtype=np.uint8)
    assert class_presence(mask, 5).tolist() == [1, 1, 0, 1, 0]
    assert classes_present(mask, 5) == [0, 1, 3]
    assert classes_present(mask.astype(np.int32), 2) == [0, 1]


def test_resize_mask_is_nearest_and_keeps_the_dtype():
    mask = np.array([[1, 2], [3, 255]], dtype=np.uint8)
    big = resize_mask(mask, 4, 4)
    assert big.tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 255, 255], [3, 3, 255, 255]]
    wide = resize_mask(mask.astype(np.int32) + 300, 4, 4)
    assert wide.dtype == np.int32 and set(np.unique(wide)) == {301, 302, 303, 555}
    small = resize_mask(np.kron(mask, np.ones((8, 8), np.uint8)), 2, 2)
    np.testing.assert_array_equal(small, mask)


def test_suspect_pixels_are_filled_and_ringed_and_nothing_else_is_drawn():
    suspect = np.zeros((9, 9), bool)
    suspect[3:6, 4] = True  # a thin stroke: every pixel keeps its fill
    rgba = suspect_colours(suspect)
    assert {tuple(c) for c in rgba[suspect]} == {SUSPECT_FILL}
    ring = suspect_ring(suspect)
    assert ring.sum() == 5 * 3 - 3 and not (ring & suspect).any()
    assert {tuple(c) for c in rgba[ring]} == set(SUSPECT_EDGE)  # dashed black and white
    assert tuple(rgba[2, 3]) != tuple(rgba[2, 4]) and tuple(rgba[2, 3]) == tuple(rgba[2, 5])
    assert (rgba[~suspect & ~ring, 3] == 0).all()
    assert (suspect_colours(suspect, ring=False)[~suspect, 3] == 0).all()
    generated = {tuple(c) for c in distinct_palette(40)}
    assert not {edge[:3] for edge in SUSPECT_EDGE} & generated  # no class of a generated palette is either
