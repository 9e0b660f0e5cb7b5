"""Segmentation datasets in the browser: masks on tiles and in the sample view, legend, hover, chart."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from core.datasets import open_dataset
from core.datasets.readers.masks import bit_palette
from core.masks.overlays import IGNORE_DARK, IGNORE_LIGHT, OverlayStyle
from gui.browser import BrowserPane
from gui.browser.grid_model import ErrorRole, TagsRole
from gui.decoding import thumbnail_array
from tests.fake_datasets import palette_png, write_coco
from tests.gui.helpers import browser_pane, qimage_array

VOC = bit_palette(21)
SCALE = 8  # fake VOC images are 12 x 10: their thumbnails are 96 x 80, 8 x 8 tile pixels per pixel


@pytest.fixture
def pane(qtbot, app_state):
    yield from browser_pane(qtbot, app_state)


@pytest.fixture
def opened(qtbot, pane, voc, app_state):
    """The VOC fixture's trainval split open, every thumbnail decoded: (dataset, id -> mask)."""
    root, _, masks = voc
    dataset = open_dataset(root, split="trainval")
    app_state.set_dataset(dataset)
    pane.show()
    qtbot.waitExposed(pane)
    qtbot.waitUntil(lambda: len(pane.loader) == len(dataset))
    return dataset, masks


def tile(pane: BrowserPane, index: int) -> np.ndarray:
    return qimage_array(pane.loader.thumbnail(index))


def plain(dataset, index: int) -> np.ndarray:
    return thumbnail_array(dataset.load_image(index))


def big(mask: np.ndarray) -> np.ndarray:
    return np.kron(mask, np.ones((SCALE, SCALE), dtype=mask.dtype))


def classes_in(mask: np.ndarray) -> set[int]:
    return {int(c) for c in np.unique(mask) if 0 < c < 255}


def test_tiles_carry_the_mask_in_the_datasets_colours(pane, opened):
    dataset, masks = opened
    assert pane.filters.masks.isVisibleTo(pane) and pane.filters.masks.isChecked()
    for i, sample_id in enumerate(dataset.sample_ids):
        shown, image, mask = tile(pane, i).astype(int), plain(dataset, i).astype(int), big(masks[sample_id])
        assert shown.shape == image.shape == (80, 96, 3)
        for c in classes_in(mask):
            where = mask == c
            colour = VOC[c].astype(int)
            expected = image[where] * 0.5 + colour * 0.5  # opacity 0.5 by default
            assert np.abs(shown[where] - expected).max() <= 1
            moved = image[where] != colour
            assert (np.abs(shown[where] - colour) <= np.abs(image[where] - colour))[moved].all()
        background = mask == 0
        np.testing.assert_array_equal(shown[background], image[background])  # background stays clear
        void = shown[mask == 255] - image[mask == 255] * 0.5  # the void row: hatched in two greys
        greys = np.array([IGNORE_DARK, IGNORE_LIGHT]) * 0.5
        assert np.all(np.min([np.abs(void - g).max(axis=1) for g in greys], axis=0) <= 1)


def test_masks_toggle_and_opacity_rebuild_the_tiles_without_decoding_again(pane, opened):
    dataset, masks = opened
    decodes = []
    original = dataset.load_image
    dataset.load_image = lambda i: decodes.append(i) or original(i)
    image, mask = plain(dataset, 0), big(masks[dataset.sample_ids[0]])
    decodes.clear()

    pane.filters.masks.click()  # off
    np.testing.assert_array_equal(tile(pane, 0), image)
    pane.filters.masks.click()  # on again
    pane.filters.opacity.setValue(100)
    shown = tile(pane, 0)
    for c in classes_in(mask):
        assert (shown[mask == c] == VOC[c]).all()  # fully opaque: the class colour itself
    pane.filters.opacity.setValue(20)
    c = min(classes_in(mask))
    expected = image[mask == c] * 0.8 + VOC[c] * 0.2
    assert np.abs(tile(pane, 0)[mask == c].astype(int) - expected).max() <= 1
    pane.view.viewport().repaint()
    assert decodes == []


def test_sample_view_draws_the_mask_and_its_legend(qtbot, pane, opened, app_state):
    dataset, masks = opened
    mask = masks[dataset.sample_ids[1]]
    app_state.select_sample(1)
    view = pane.sample_view
    qtbot.waitUntil(lambda: view.canvas.overlay is not None)
    overlay = view.canvas.overlay
    for c in classes_in(mask):
        assert (overlay[mask == c][:, :3] == VOC[c]).all()
    assert (overlay[mask == 0][:, 3] == 0).all()
    assert view.canvas.layer.opacity() == pytest.approx(0.5)
    names = [name for name, _ in view.masks.legend_entries]
    expected = [dataset.classes[c] for c in sorted({int(c) for c in np.unique(mask) if c != 255})]
    assert names == [*expected, "ignored"]
    assert all(name in view.masks.legend.text() for name in expected)

    pane.set_overlay_style(OverlayStyle(visible=True, opacity=0.8, outlines=True))
    assert view.canvas.layer.opacity() == pytest.approx(0.8)
    inside = view.canvas.overlay[..., 3] > 0
    assert 0 < inside.sum() < (mask != 0).sum() + 1
    pane.filters.masks.click()
    assert view.canvas.overlay is None and view.canvas.image is not None


def hover(canvas, x: float, y: float) -> None:
    viewport = canvas.view.viewport()
    pos = canvas.widget_pos(x, y)
    event = QMouseEvent(
        QMouseEvent.Type.MouseMove,
        pos,
        viewport.mapToGlobal(pos),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, event)


def test_hovering_a_pixel_names_its_true_and_predicted_class(qtbot, pane, opened, app_state):
    dataset, masks = opened
    mask = masks[dataset.sample_ids[2]]
    predicted = np.where(mask == 255, 0, (mask.astype(int) + 1) % 21).astype(np.uint8)
    confidence = np.full(mask.shape, 0.87, dtype=np.float32)
    pane.set_prediction_source(lambda i: (predicted, confidence) if i == 2 else None)
    app_state.select_sample(2)
    view = pane.sample_view
    qtbot.waitUntil(lambda: view.masks.masks.predicted is not None)
    y, x = np.argwhere((mask > 0) & (mask < 255))[0]
    hover(view.canvas, x + 0.5, y + 0.5)
    text = view.masks.hover.text()
    assert f"x {x}, y {y}" in text
    assert f"true: {dataset.classes[mask[y, x]]}" in text
    assert f"predicted: {dataset.classes[predicted[y, x]]} (87%)" in text
    hover(view.canvas, 5.5, 0.5)
    assert "true: ignored (255)" in view.masks.hover.text()

    view.masks.mode.setCurrentIndex(view.masks.mode.findText("Wrong pixels"))
    wrong = view.canvas.overlay[..., 3] > 0
    np.testing.assert_array_equal(wrong, (mask != 255) & (mask != predicted))
    assert [name for name, _ in view.masks.legend_entries] == ["wrong pixel"]


def test_a_mask_that_does_not_fit_its_image_is_an_error_on_its_tile(qtbot, pane, voc, app_state):
    root, splits, _ = voc
    bad = splits["val"][0]
    (root / "SegmentationClass" / f"{bad}.png").write_bytes(palette_png(np.zeros((4, 4), np.uint8), VOC))
    dataset = open_dataset(root, split="val")
    with qtbot.waitSignal(pane.failed_count_changed, timeout=5000) as blocker:
        app_state.set_dataset(dataset)
        pane.show()
    assert blocker.args == [1]
    row = dataset.sample_ids.index(bad)
    assert "mask is 4x4" in pane.mask_classes.errors.get(row, "mask is 4x4")  # the scan may find it first
    qtbot.waitUntil(lambda: pane.model.data(pane.model.index(row), ErrorRole) is not None)
    assert "mask is 4x4 but the image is 12x10" in pane.model.data(pane.model.index(row), ErrorRole)
    assert pane.filters.failed.text() == "⚠ 1 unreadable"
    app_state.select_sample(row)
    view = pane.sample_view
    qtbot.waitUntil(lambda: view.canvas.image is not None)
    assert "mask is 4x4" in view.masks.legend.text()  # the image is still shown, with why there is no mask


def test_class_chart_counts_the_images_that_contain_each_class(qtbot, pane, opened):
    dataset, masks = opened
    qtbot.waitUntil(lambda: pane.mask_classes.complete)
    expected = np.zeros(21, dtype=int)
    for sample_id in dataset.sample_ids:
        for c in np.unique(masks[sample_id]):
            if c < 21:
                expected[c] += 1
    qtbot.waitUntil(lambda: pane.chart.counts.tolist() == expected.tolist())
    assert pane.chart.unit == "images"
    assert "Images containing each class" in pane.chart.plot.plotItem.titleLabel.text

    c = int(np.argmax(expected[1:]) + 1)
    pane.set_class_filter(c)
    containing = [i for i, s in enumerate(dataset.sample_ids) if c in masks[s]]
    np.testing.assert_array_equal(pane.visible_indices(), containing)
    tags = pane.model.data(pane.model.index(0), TagsRole)
    assert dataset.classes[c] in tags and "background" not in tags


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools' numpy 2 warning, not ours
def test_coco_classes_come_from_its_annotations_without_a_scan(qtbot, pane, tmp_path, app_state):
    write_coco(tmp_path / "coco")
    dataset = open_dataset(tmp_path / "coco", task="segmentation")
    app_state.set_dataset(dataset)
    assert pane.mask_classes.complete
    assert pane.chart.counts.tolist() == dataset.tags.sum(axis=0).tolist()
    assert pane.tag_filter.isVisibleTo(pane)
    pane.show()
    qtbot.waitUntil(lambda: len(pane.loader) == len(dataset))
    assert not pane.model.failed_indices()
