"""Generic segmentation pairs: images/ + masks/ by stem, index or colour masks, classes files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from core.datasets.readers.masks import bit_palette
from tests.fake_datasets import palette_png, png_bytes, random_mask, write_images


def _write_pairs(
    root: Path, stems: list[str], num_classes: int = 4, seed: int = 0, split: str = ""
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    prefix = f"{split}/" if split else ""
    write_images(root / "images", [f"{prefix}{s}.jpg" for s in stems], seed=seed, size=(9, 11))
    masks = {}
    for stem in stems:
        masks[stem] = random_mask(rng, (9, 11), num_classes)
        path = root / "masks" / f"{prefix}{stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(masks[stem]) if seed % 2 == 0 else palette_png(masks[stem], bit_palette(256)))
    return masks


@pytest.mark.parametrize("seed", [0, 1], ids=["gray masks", "palette masks"])
def test_index_masks_with_classes_file(tmp_path: Path, seed: int) -> None:
    masks = _write_pairs(tmp_path, ["b", "a", "c"], seed=seed)
    (tmp_path / "classes.txt").write_text("background\nroad\ncar\nsky\n")
    ds = open_dataset(tmp_path)
    assert ds.layout == "Segmentation pairs" and ds.task == "segmentation"
    assert ds.classes == ["background", "road", "car", "sky"] and ds.palette.shape == (4, 3)
    assert ds.sample_ids == ["a.jpg", "b.jpg", "c.jpg"]
    for sample in ds:
        np.testing.assert_array_equal(sample.mask(), masks[sample.id[0]])
        assert sample.image().shape == (9, 11, 3)


def test_without_classes_file_counts_classes_from_the_masks(tmp_path: Path) -> None:
    masks = _write_pairs(tmp_path, ["a", "b"], num_classes=6)
    ds = open_dataset(tmp_path)
    top = max(int(m[m != 255].max()) for m in masks.values())
    assert ds.classes == [f"class {i}" for i in range(top + 1)]


def test_colour_masks_through_classes_file_colours(tmp_path: Path) -> None:
    masks = _write_pairs(tmp_path, ["a", "b"], num_classes=3)
    colours = np.array([[0, 0, 0], [128, 64, 128], [70, 70, 70]], np.uint8)
    for stem, mask in masks.items():
        mask[mask == 255] = 0
        (tmp_path / "masks" / f"{stem}.png").write_bytes(png_bytes(colours[mask]))
    (tmp_path / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\nroad:128,64,128::\nbuilding:70,70,70::\n"
    )
    ds = open_dataset(tmp_path)
    assert ds.classes == ["background", "road", "building"] and ds.palette.tolist() == colours.tolist()
    np.testing.assert_array_equal(ds[1].mask(), masks["b"])


def test_colour_masks_without_colours_are_reported(tmp_path: Path) -> None:
    write_images(tmp_path / "images", ["a.png"])
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "a.png").write_bytes(png_bytes(np.full((6, 8, 3), 9, np.uint8)))
    with pytest.raises(DatasetError, match=r"colour masks; add classes.txt"):
        open_dataset(tmp_path)


def test_split_folders(tmp_path: Path) -> None:
    _write_pairs(tmp_path, ["a", "b"], split="train")
    val = _write_pairs(tmp_path, ["c"], split="val", seed=2)
    ds = open_dataset(tmp_path)
    assert (ds.splits, ds.split, ds.sample_ids) == (["train", "val"], "val", ["val/c.jpg"])
    np.testing.assert_array_equal(ds[0].mask(), val["c"])
    assert len(ds.with_split("train")) == 2


def test_mask_problems_are_sample_errors(tmp_path: Path) -> None:
    _write_pairs(tmp_path, ["a", "b", "c"])
    (tmp_path / "classes.txt").write_text("background\nroad\ncar\nsky\n")
    (tmp_path / "masks" / "a.png").unlink()
    (tmp_path / "masks" / "b.png").write_bytes(png_bytes(np.zeros((3, 3), np.uint8)))
    (tmp_path / "masks" / "c.png").write_bytes(png_bytes(np.full((9, 11), 7, np.uint8)))
    ds = open_dataset(tmp_path)
    with pytest.raises(SampleError, match=r"a.jpg: no mask with the same name in masks/"):
        ds[0].mask()
    with pytest.raises(SampleError, match=r"b.png: mask is 3x3 but the image is 11x9"):
        ds[1].mask()
    with pytest.raises(SampleError, match=r"c.png: mask value 7 is not a class \(0..3\)"):
        ds[2].mask()


def test_bad_classes_file_line_is_named(tmp_path: Path) -> None:
    _write_pairs(tmp_path, ["a"])
    (tmp_path / "classes.txt").write_text("background 0 0 0\nroad 300 1 1\n")
    with pytest.raises(DatasetError, match=r"classes.txt:2: expected 'name' or 'name r g b'"):
        open_dataset(tmp_path)
    (tmp_path / "classes.txt").write_text("background 0 0 0\nroad\n")
    with pytest.raises(DatasetError, match="gives colours for 1 of 2 classes"):
        open_dataset(tmp_path)
