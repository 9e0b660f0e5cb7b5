"""gui/thumbnails.py: the pooled pixmap loader behind the Analysis tab's thumbnails and the object grid's crops."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from core.datasets import SampleError
from core.evaluation.selection import TRUTH
from gui.browser.object_grid import CropLoader, cut_crop
from gui.metrics.analysis_samples import RowThumbnails
from gui.thumbnails import PooledPixmaps, thumbnail_image
from tests.gui.helpers import qimage_array
from tests.gui.test_browser_boxes import BoxDataset


def solid(value: int) -> QImage:
    return thumbnail_image(np.full((4, 4), value, np.uint8), 4)


def test_a_key_is_decoded_once_on_the_pool_and_a_failure_is_that_keys_error(qtbot):
    loader = PooledPixmaps()
    calls: list[int] = []

    def work():
        calls.append(1)
        return solid(200)

    def broken():
        raise SampleError("b.png: cannot decode")

    with qtbot.waitSignal(loader.ready, check_params_cb=lambda key: key == 1):
        assert loader.pixmap(1, work) is None
    assert loader.pixmap(1, work).size().width() == 4 and calls == [1]  # from the cache, not decoded again
    with qtbot.waitSignal(loader.ready, check_params_cb=lambda key: key == 2):
        loader.pixmap(2, broken)
    assert loader.errors == {2: "b.png: cannot decode"} and loader.pixmap(2, work) is None and calls == [1]
    loader.shutdown()


def test_what_lands_after_the_rows_changed_is_dropped(qtbot):
    loader = PooledPixmaps()
    loader.pixmap(1, lambda: solid(10))
    loader.clear()  # other rows while the decode was under way
    loader.pool.waitForDone()
    qtbot.wait(50)  # the queued result reaches the GUI thread, and is dropped there
    assert loader._cache == {} and loader.errors == {}
    with qtbot.waitSignal(loader.ready):
        assert loader.pixmap(1, lambda: solid(20)) is None  # decoded again, for the new rows
    assert qimage_array(loader.pixmap(1, lambda: solid(30)).toImage())[0, 0, 0] == 20
    loader.shutdown()


def test_thumbnail_image_takes_gray_rgb_and_rgba():
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    rgba = np.dstack([np.stack([gray] * 3, axis=2), np.full((8, 8), 7, np.uint8)])
    for image in (gray, np.stack([gray] * 3, axis=2), rgba):
        thumb = thumbnail_image(image, 16)
        assert (thumb.width(), thumb.height()) == (16, 16)
        assert (qimage_array(thumb)[::2, ::2, 1] == gray).all()  # nearest up: every pixel kept, alpha dropped


class GrayBoxes(BoxDataset):
    def load_image(self, index: int) -> np.ndarray:
        return np.full((64, 64), 90, np.uint8)  # a gray image, as a gray COCO dataset gives


def test_the_object_grid_crops_a_gray_image(tmp_path):
    image, words = cut_crop(GrayBoxes(tmp_path), None, 0, TRUTH, 1, "")
    assert words == "dog" and (image.width(), image.height()) == (71, 112)  # the box (20 x 40) and its margin
    assert (qimage_array(image)[image.height() // 2, image.width() // 2] == 90).all()  # inside the box: the gray


def test_the_analysis_thumbnails_and_the_object_crops_are_one_loader():
    assert issubclass(RowThumbnails, PooledPixmaps) and issubclass(CropLoader, PooledPixmaps)
