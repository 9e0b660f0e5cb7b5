"""Saving edited masks in the dataset's own form, and reading them back as its labels.

* Pascal VOC: palette PNG with VOC's colour map (index 255 = the void border), at
  ``SegmentationClass/<id>.png``.
* Cityscapes: ``*_gtFine_labelIds.png`` holding label ids (train ids mapped back through the
  official table; ignored pixels become 0, "unlabeled").
* Everything else: a single-channel class-index PNG (255 = ignore) at the path the dataset
  reads its mask from, or ``masks/<sample id>.png``.

Masks go into an output folder that mirrors the dataset's own structure, so the folder can
be laid over the dataset. Writing into the dataset itself (over the original files) needs
``overwrite_originals=True``, which the GUI only passes after asking. Every write is atomic:
a temporary file in the same folder, then a rename.
"""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core import tasks
from core.datasets.base import IGNORE_INDEX, Dataset, SampleError
from core.datasets.readers.masks import bit_palette, read_label_image
from core.labels.errors import StoreError
from core.labels.masks import read_version
from core.system.files import write_atomic

if TYPE_CHECKING:
    from core.labels.project import Project


class MaskWriteError(Exception):
    """A mask that cannot be written where asked; nothing was half-written."""


class MaskExistsError(MaskWriteError):
    """The target holds a mask CV Lens did not write (none of the sample's saved versions, nor the dataset's
    own): it is replaced only when the user says so (``replace=True``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already holds a mask that CV Lens did not write; replace it?")
        self.path = path


def _voc_palette() -> np.ndarray:
    return bit_palette(256)


def _cityscapes_inverse(dataset: Dataset) -> np.ndarray:
    """train id -> label id (the first label id of each train id); 255 -> 0 (unlabeled)."""
    inverse = np.zeros(256, dtype=np.uint8)
    lookup = dataset.lookup  # type: ignore[attr-defined]
    for label_id in range(255, -1, -1):  # descending, so the smallest label id wins
        train_id = int(lookup[label_id])
        if train_id != IGNORE_INDEX:
            inverse[train_id] = label_id
    return inverse


def relative_mask_path(dataset: Dataset, index: int) -> Path:
    """Where the dataset keeps (or would keep) this sample's mask, relative to its root."""
    mask_path = getattr(dataset, "mask_path", None)
    if mask_path is not None:
        try:
            return Path(mask_path(index)).resolve().relative_to(dataset.root.resolve())
        except ValueError:
            pass
    return Path("masks") / f"{Path(dataset.sample_ids[index]).with_suffix('')}.png"


def encode_mask(dataset: Dataset, mask: np.ndarray) -> bytes:
    """PNG bytes of ``mask`` (class indices, 255 = ignore) in the dataset's own encoding."""
    from PIL import Image

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise MaskWriteError(f"a mask must be H x W, got shape {mask.shape}")
    bad = (mask >= len(dataset.classes)) & (mask != IGNORE_INDEX)
    if bad.any():
        raise MaskWriteError(f"mask values {np.unique(mask[bad])[:5].tolist()} are not classes of {dataset.name}")
    mask = mask.astype(np.uint8)
    if dataset.layout == "Pascal VOC":
        image = Image.fromarray(mask, mode="P")
        image.putpalette(_voc_palette().reshape(-1).tolist())
    elif dataset.layout == "Cityscapes":
        image = Image.fromarray(_cityscapes_inverse(dataset)[mask], mode="L")
    else:
        image = Image.fromarray(mask, mode="L")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decode_saved_mask(dataset: Dataset, path: Path) -> np.ndarray:
    """Read a mask written by :func:`save_mask` back into class indices."""
    raw = read_label_image(path)
    if raw.ndim != 2:
        raise SampleError(f"{path.name}: a saved mask must be single-channel, found shape {raw.shape}")
    if dataset.layout == "Cityscapes":
        return dataset.lookup[raw]  # type: ignore[attr-defined]
    return raw.astype(np.uint8)


def save_mask(
    dataset: Dataset,
    index: int,
    mask: np.ndarray,
    out_root: str | Path,
    *,
    overwrite_originals: bool = False,
    project: Project | None = None,
    replace: bool = False,
) -> Path:
    """Write one sample's mask under ``out_root`` atomically; the path written.

    The target must resolve inside ``out_root``. A file already there is replaced when CV Lens wrote it
    (it holds one of the sample's saved versions in ``project``, or the dataset's own mask), or when
    ``replace``; otherwise :class:`MaskExistsError`, so that a file of the user's is never replaced unasked.
    """
    out_root = Path(out_root)
    target = out_root / relative_mask_path(dataset, index)
    if not target.resolve().is_relative_to(out_root.resolve()):  # an index naming "../../x.jpg", or a link out
        raise MaskWriteError(
            f"{dataset.sample_ids[index]}: its mask would be written to {target.resolve()}, outside the output "
            f"folder {out_root}; refused"
        )
    original = dataset.root / relative_mask_path(dataset, index)
    if target.resolve() == original.resolve() and original.exists() and not overwrite_originals:
        raise MaskWriteError(
            f"{target} is the dataset's original mask; choose another output folder or confirm overwriting"
        )
    asked = replace or overwrite_originals
    if target.exists() and not asked and not _written_by_us(dataset, index, target, project):
        raise MaskExistsError(target)
    data = encode_mask(dataset, mask)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MaskWriteError(f"cannot write into {target.parent}: {exc.strerror or exc}") from None
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise MaskWriteError(f"cannot write {target}: {exc.strerror or exc}; nothing was changed") from None
    return target


def _written_by_us(dataset: Dataset, index: int, target: Path, project: Project | None) -> bool:
    """Whether ``target`` holds what a save (or the undo of the first one) of this sample wrote."""
    try:
        existing = decode_saved_mask(dataset, target)
        ours = [dataset.load_mask(index)]
    except (SampleError, OSError):
        return False
    if project is not None:
        with contextlib.suppress(StoreError):  # a damaged version is not a reason to replace the user's file
            ours += [read_version(project.store, v) for v in project.mask_versions(index)]
    return any(m is not None and m.shape == existing.shape and np.array_equal(m, existing) for m in ours)


def newest_mask(
    dataset: Dataset, index: int, project: Project | None, out_root: str | Path | None
) -> tuple[np.ndarray | None, str]:
    """The newest mask of a sample and where it came from, in words: the store's newest saved version,
    else a file saved under ``out_root`` before the store kept versions, else the dataset's own."""
    if project is not None:
        try:
            version = project.saved_mask(index)
            if version is not None:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(version.time))
                count = len(project.mask_versions(index))
                return project.load_saved_mask(index), f"your mask saved {when} by {version.user} (of {count} saved)"
        except StoreError as exc:
            raise SampleError(str(exc)) from None
    legacy = Path(out_root) / relative_mask_path(dataset, index) if out_root is not None else None
    if (
        legacy is not None
        and legacy.is_file()
        and legacy.resolve() != (dataset.root / relative_mask_path(dataset, index)).resolve()
    ):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(legacy.stat().st_mtime))
        return decode_saved_mask(dataset, legacy), f"the mask saved in {legacy} ({when})"
    return dataset.load_mask(index), "the dataset's own mask"


def default_output_folder(dataset: Dataset) -> Path:
    """Beside the dataset, never inside it: ``<root>-cvlens-masks``."""
    return dataset.root.parent / f"{dataset.root.name}-cvlens-masks"


class WithSavedMasks(Dataset):
    """The dataset with the saved masks taking the place of the originals.

    With a ``project`` its store decides: a sample's newest saved mask there, else (for masks saved
    before the store kept them) a file under ``out_root``, else the dataset's own mask.
    """

    def __init__(self, base: Dataset, out_root: str | Path, project: Project | None = None) -> None:
        self.base = base
        self.out_root = Path(out_root)
        self.project = project
        self.layout = base.layout
        super().__init__(
            base.root,
            task=base.task,
            classes=base.classes,
            splits=base.splits,
            split=base.split,
            sample_ids=base.sample_ids,
            targets=base.targets,
            tags=base.tags,
            palette=base.palette,
        )

    def saved_path(self, index: int) -> Path:
        return self.out_root / relative_mask_path(self.base, index)

    def has_saved_mask(self, index: int) -> bool:
        in_store = self.project is not None and int(index) in self.project.saved_masks()
        return in_store or self.saved_path(index).is_file()

    def load_image(self, index: int) -> np.ndarray:
        return self.base.load_image(index)

    def load_mask(self, index: int) -> np.ndarray | None:
        return newest_mask(self.base, index, self.project, self.out_root)[0]

    def sample_path(self, index: int) -> Path | None:
        return self.base.sample_path(index)

    def sample_meta(self, index: int) -> dict:
        return self.base.sample_meta(index)


#: View-state keys of the project store: the "use saved masks as labels" switch and the output folder.
USE_SAVED_MASKS = "use_saved_masks"
MASK_FOLDER = "mask_output_folder"


def output_folder(dataset: Dataset, project: Project | None) -> Path:
    """Where this project's saved masks are also written in the dataset's format (remembered per project)."""
    base = dataset.base if isinstance(dataset, WithSavedMasks) else dataset
    chosen = project.store.get_view(MASK_FOLDER) if project is not None else None
    return Path(chosen) if chosen else default_output_folder(base)


def uses_saved_masks(project: Project | None) -> bool:
    """The project's "use saved masks as labels" switch (off for a new project)."""
    return bool(project is not None and project.store.get_view(USE_SAVED_MASKS, False))


def truth_dataset(dataset: Dataset, project: Project | None, use: bool | None = None) -> Dataset:
    """``dataset`` reading its true masks as the switch says: the saved masks (``WithSavedMasks``) or its own.
    ``use`` None reads the project's switch."""
    base = dataset.base if isinstance(dataset, WithSavedMasks) else dataset
    use = uses_saved_masks(project) if use is None else use
    task = tasks.known(base)
    if not use or task is None or not task.per_pixel:
        return base
    return WithSavedMasks(base, output_folder(base, project), project)
