"""Plain folders of images: ``root/<class>/*``, ``root/<split>/<class>/*``, or unlabeled ``root/*``.

Classes are the sub-folder names in sorted order, as torchvision's ImageFolder numbers them.
Two classes make a binary task, more a multiclass one. Listing uses ``os.scandir`` only (no
``stat`` per file), once a folder per open (:mod:`core.datasets.scan`, shared with the layout probes),
so a folder of 60,000 images opens as fast as torchvision's ImageFolder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.datasets.base import UNLABELED, Dataset, DatasetError, default_split
from core.datasets.imageio import read_image
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.listing import image_names, subdirs

SPLIT_NAMES = ("train", "training", "val", "valid", "validation", "test", "testing")


def _class_tree(folder: Path, problems: list[str] | None = None) -> dict[str, list[str]]:
    """Class name -> image file names, for the class folders directly under ``folder``.

    A class folder that cannot be listed stays a class (with no samples, reported in ``problems``):
    dropping it would shift every later class's index.
    """
    tree = {}
    for name in subdirs(folder):
        found: list[str] = []
        files = image_names(folder / name, found)
        if files or found:
            tree[name] = files
        if problems is not None:
            problems.extend(found)
    return tree


def _splits(root: Path) -> list[str]:
    return [name for name in subdirs(root) if name.lower() in SPLIT_NAMES and _class_tree(root / name)]


class ImageFolderDataset(Dataset):
    layout = "Image folder"

    def __init__(self, root: Path, split: str | None = None) -> None:
        splits = _splits(root)
        if split is None:
            split = default_split(splits)
        if split is not None and split not in splits:
            raise DatasetError(f"image folder {root} has no split {split!r}; it has {splits}")
        base = root / split if split else root
        problems: list[str] = []
        tree = _class_tree(base, problems)
        if splits:
            # Every split shares one class list, so labels mean the same in train and test.
            classes = sorted({c for s in splits for c in _class_tree(root / s)})
        else:
            classes = sorted(tree)
        prefix = f"{split}/" if split else ""
        ids: list[str] = []
        counts: list[int] = []
        for name in classes:
            folder = f"{prefix}{name}/"
            files = tree.get(name, [])
            ids.extend([folder + file for file in files])
            counts.append(len(files))
        if not ids:
            raise DatasetError(f"image folder {base} has no images in class folders")
        super().__init__(
            root,
            task="binary" if len(classes) == 2 else "multiclass",
            classes=classes,
            splits=splits,
            split=split,
            sample_ids=ids,
            targets=np.repeat(np.arange(len(classes), dtype=np.int64), counts),
        )
        self.notices = problems

    def sample_path(self, index: int) -> Path:
        return self.root / self.sample_ids[index]

    def load_image(self, index: int) -> np.ndarray:
        return read_image(self.sample_path(index))


class UnlabeledFolderDataset(Dataset):
    layout = "Unlabeled images"

    def __init__(self, root: Path, split: str | None = None) -> None:
        names = image_names(root)
        if not names:
            raise DatasetError(f"{root} holds no image files")
        super().__init__(
            root,
            task="multiclass",
            classes=[],
            splits=[],
            split=None,
            sample_ids=names,
            targets=np.full(len(names), UNLABELED, dtype=np.int64),
        )

    def sample_path(self, index: int) -> Path:
        return self.root / self.sample_ids[index]

    def load_image(self, index: int) -> np.ndarray:
        return read_image(self.sample_path(index))


def _probe_tree(path: Path) -> Probe:
    if _splits(path) or (_class_tree(path) and not image_names(path)):
        return Probe(path)
    return Probe(None, "no class sub-folders with images (root/<class>/*.jpg or root/<split>/<class>/*.jpg)")


def _probe_flat(path: Path) -> Probe:
    if image_names(path):
        return Probe(path)
    return Probe(None, "no image files directly in the folder")


register(Layout("Image folder", _probe_tree, ImageFolderDataset, priority=90))
register(Layout("Unlabeled images", _probe_flat, UnlabeledFolderDataset, priority=95))
