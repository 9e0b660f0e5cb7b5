"""One door to every kind of run: the job that fits a model card, and why a model does not fit.

Classifiers (binary, multiclass, multilabel) run in :class:`InferenceJob`, segmenters in
:class:`SegmentationJob`; both yield the same Progress records and are cancelled and resumed
the same way, so the GUI and the CLI drive them alike.
"""

from __future__ import annotations

from pathlib import Path

from core.datasets.base import Dataset
from core.models.cards import ModelCard, ModelError


def why_not(card: ModelCard, dataset: Dataset) -> str | None:
    """None when ``card`` can run on ``dataset`` as it is; else the reason, in the user's words."""
    try:
        if card.task == "segmentation" or dataset.task == "segmentation":
            from core.inference.segmentation import class_lookup

            class_lookup(card, dataset)
        else:
            from core.inference.class_map import check_fit

            check_fit(card, dataset)
    except ModelError as exc:
        return str(exc)
    return None


def job_for(
    card: ModelCard,
    dataset: Dataset,
    *,
    device: str | None = None,
    batch_size: int = 32,
    tile: int | None = None,
    class_map: dict[str, str] | None = None,
    run_dir: str | Path | None = None,
    num_workers: int | None = None,
):
    """The job that runs ``card`` over ``dataset``; ModelError when it does not fit."""
    if card.task == "segmentation":
        from core.inference.segmentation import SegmentationJob

        return SegmentationJob(
            card,
            dataset,
            device=device,
            batch_size=batch_size,
            tile=tile,
            class_map=class_map,
            run_dir=run_dir,
            num_workers=num_workers,
        )
    from core.inference.class_map import map_classes
    from core.inference.runner import InferenceJob

    mapping = map_classes(card.classes, dataset.classes, class_map) if class_map is not None else None
    return InferenceJob(card, dataset, device=device, batch_size=batch_size, num_workers=num_workers, class_map=mapping)
