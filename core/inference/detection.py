"""Running a detector (or a localizer) over an object dataset: boxes, scores and classes per image.

:class:`DetectionJob` works like :class:`~core.inference.runner.InferenceJob`: ``run()`` is a generator yielding
one :class:`Progress` per batch, stopping it is cancelling (what was done stays in ``job.predictions``), calling
it again resumes with the images not yet done. It fills a :class:`DetectionPredictions`.

- **detection / instance segmentation**: the model gets a list of float C x H x W images in [0, 1] at their own
  sizes, as torchvision's detectors take them (they resize and normalise inside), and gives one dict per image:
  ``boxes`` (pixels of that image), ``scores``, ``labels`` and, for Mask R-CNN, ``masks`` (N x 1 x H x W soft
  masks, thresholded at ``mask_threshold`` and kept as COCO run-length encodings). Each label id goes to the
  dataset's class of the same name, or through ``class_map`` (dataset class -> model class); detections of the
  background, of "N/A" and of classes not mapped are dropped. The model is asked to keep scores down to
  ``score_threshold`` (0.001: the precision-recall curves and the mAP need the low ones) and ``max_detections``
  per image (COCO's 100).
- **localization**: the model gets the card's preprocessed batch (``ModelCard.preprocess``) and gives one box
  per image, as fractions of the image's width and height, and class scores (logits):
  ``{"boxes": B x 4, "class_scores": B x C}`` or a pair ``(boxes, logits)`` (``docs/detector-checkpoints.md``).
  The box is stored in pixels with the best class, and the softmax of the class scores in ``class_scores``.

An image that cannot be decoded, or whose output is not finite, is that image's error (``predictions.errors``),
never the end of the run. On out-of-memory the batch is halved and retried, as the classifier's job does.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping, Sequence

import numpy as np

from core.datasets.base import Dataset
from core.inference.batch_sizes import BatchFit, cache_key
from core.inference.batches import default_workers
from core.inference.class_map import detector_fit, detector_labels, map_classes
from core.inference.detections import OBJECT_TASKS, DetectionPredictions
from core.inference.devices import is_out_of_memory, pick_device
from core.inference.model_job import DecodedSamples, ModelJob, as_list
from core.inference.outputs import class_scores
from core.inference.progress import Progress
from core.models.cards import ModelCard, ModelError
from core.models.detectors import as_detections, as_localization, set_limits
from core.models.loading import build_model

__all__ = ["DetectionJob", "encode_masks"]


def encode_masks(masks: np.ndarray) -> list[bytes]:
    """N x H x W bool masks -> their COCO run-length encodings' counts (pycocotools, Fortran order)."""
    if not len(masks):
        return []
    from pycocotools import mask as rle

    encoded = rle.encode(np.asfortranarray(np.moveaxis(masks.astype(np.uint8), 0, -1)))
    return [item["counts"] for item in encoded]


class DetectionJob(ModelJob):
    """A detector or localizer run over (part of) an object dataset. See the module docstring.

    ``batch_size``: images per forward pass (an int, or "auto": 8 on CUDA, 2 elsewhere; halved on out of
    memory). ``task``: the run's task (default the card's; a Mask R-CNN run as "detection" keeps no masks).
    """

    counted = "images"

    def __init__(
        self,
        card: ModelCard,
        dataset: Dataset,
        *,
        class_map: Mapping[str, str] | None = None,
        device: str | None = None,
        batch_size: int | str | None = 2,
        num_workers: int | None = 0,
        model=None,
        score_threshold: float = 0.001,
        max_detections: int = 100,
        mask_threshold: float = 0.5,
        task: str | None = None,
        mp_context: str = "spawn",
    ) -> None:
        fit = detector_fit(card, dataset, class_map)
        if not fit.fits:
            raise ModelError(fit.reason)
        self.task = task or card.task
        if self.task not in OBJECT_TASKS:
            raise ModelError(f"{card.display_name} is a {card.task} model, not a model of objects ({OBJECT_TASKS})")
        if self.task == "localization" and card.resize_size is not None:
            raise ModelError("a localization model sees the whole image: its card must not crop it (resize_size)")
        self.card, self.dataset = card, dataset
        self.device = pick_device(device)
        self.num_workers, self.mp_context = num_workers, mp_context
        self.score_threshold, self.max_detections = float(score_threshold), int(max_detections)
        self.mask_threshold = float(mask_threshold)
        self._model = model
        self._loaded = False
        if self.task == "localization":
            self.mapping = map_classes(card.classes, dataset.classes, class_map)
        else:
            self.labels = detector_labels(card, dataset.classes, class_map)
        if batch_size in (None, "auto", 0):
            batch_size = 8 if self.device.startswith("cuda") else 2
        self._fit = BatchFit.start(batch_size, cache_key(card, self.device, False), self.device)
        self.predictions = DetectionPredictions.empty(
            self.task, dataset.classes, dataset.sample_ids, model=card.name, device=self.device
        )

    # -- the model --------------------------------------------------------------------------
    def _load_model(self):
        if not self._loaded:
            if self._model is None:
                self._model = build_model(self.card)
            self._model = self._model.to(self.device).eval()
            set_limits(self._model, self.score_threshold, self.max_detections)
            self._loaded = True
        return self._model

    def _forward(self, images: list[np.ndarray]):
        """The model's output for some decoded images: a dict per image, or a localizer's (boxes, scores)."""
        import torch

        model = self._model
        if self.task == "localization":
            batch = torch.from_numpy(np.stack([self.card.preprocess(image) for image in images]))
            pair = as_localization(model(batch.to(self.device)))
            if pair is None:
                raise ModelError(
                    f"{self.card.display_name} does not give one box and class scores per image "
                    "(docs/detector-checkpoints.md)"
                )
            return pair
        tensors = [torch.from_numpy(image).to(self.device).permute(2, 0, 1).float().div_(255) for image in images]
        try:
            return as_detections(model(tensors))
        except TypeError as exc:
            raise ModelError(f"{self.card.display_name}: {exc}") from None

    def _predict(self, items: list) -> int:
        """Run the model on the decoded images of a batch, in chunks of the current batch size; record them.
        Returns how many images failed (outputs that are not finite)."""
        import torch

        failed = start = 0
        while start < len(items):
            size = self._fit.size
            chunk = items[start : start + size]
            try:
                with torch.inference_mode():
                    output = self._forward([item.image for item in chunk])
            except ModelError:
                raise
            except Exception as exc:  # out of memory, a broken model, a GPU that went away
                if is_out_of_memory(exc) and size > 1:
                    self._shrink(size)
                    continue
                raise self._failure(exc) from exc
            failed += self._record_chunk(chunk, output)
            start += size
        return failed

    # -- recording ---------------------------------------------------------------------------
    def _record_chunk(self, chunk: list, output) -> int:
        if self.task == "localization":
            boxes, logits = output
            scores = class_scores(self.card, logits.float(), self.mapping)
            results = [(boxes[k], scores[k]) for k in range(len(boxes))]
        else:
            results = output
        if len(results) != len(chunk):
            raise ModelError(f"{self.card.display_name} gave {len(results)} results for {len(chunk)} images")
        failed = 0
        for item, result in zip(chunk, results):
            record = self._record_localization if self.task == "localization" else self._record_detections
            if not record(item.index, item.image.shape[:2], result):
                self.predictions.errors[item.index] = f"{self.card.display_name} gave outputs that are not finite"
                failed += 1
        return failed

    def _record_localization(self, index: int, size: tuple[int, int], result) -> bool:
        box, scores = result
        box = box.detach().float().cpu().numpy().reshape(4)
        if not (np.isfinite(box).all() and np.isfinite(scores).all()):
            return False
        height, width = size
        pixels = np.clip(box * np.array([width, height, width, height], np.float32), 0, [width, height] * 2)
        best = int(np.argmax(scores))
        self.predictions.set_image(
            index, pixels[None], [scores[best]], [best], size=(height, width), class_scores=scores
        )
        return True

    def _record_detections(self, index: int, size: tuple[int, int], found: dict) -> bool:
        """One image's detections: mapped to the dataset's classes, thresholded, the best ``max_detections``."""
        boxes = found["boxes"].detach().float().cpu().numpy().reshape(-1, 4)
        scores = found["scores"].detach().float().cpu().numpy().reshape(-1)
        labels = found["labels"].detach().cpu().numpy().astype(np.int64).reshape(-1)
        if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
            return False
        known = (labels >= 0) & (labels < len(self.labels))
        classes = np.where(known, self.labels[np.clip(labels, 0, len(self.labels) - 1)], -1)
        keep = np.flatnonzero((classes >= 0) & (scores >= self.score_threshold))
        keep = keep[np.argsort(-scores[keep], kind="stable")][: self.max_detections]
        height, width = size
        boxes = np.clip(boxes[keep], 0, [width, height, width, height]).astype(np.float32)
        masks = None
        if self.task == "instance_segmentation":
            masks = self._masks(found, keep)
        self.predictions.set_image(index, boxes, scores[keep], classes[keep], size=(height, width), masks=masks)
        return True

    def _masks(self, found: dict, keep: np.ndarray) -> list[bytes]:
        if "masks" not in found:
            raise ModelError(f"{self.card.display_name} gives no masks: run it as a detector")
        soft = found["masks"][torch_index(keep)]
        binary = (soft.detach().float() > self.mask_threshold).cpu().numpy()
        return encode_masks(binary.reshape(len(keep), *binary.shape[-2:]))

    # -- the run ------------------------------------------------------------------------------
    def _loader(self, todo: np.ndarray):
        from torch.utils.data import DataLoader

        workers = default_workers(len(todo)) if self.num_workers is None else self.num_workers
        return DataLoader(
            DecodedSamples(self.dataset, todo, rgb=True),  # the detectors take RGB
            batch_size=self._fit.size,
            num_workers=workers,
            collate_fn=as_list,
            multiprocessing_context=self.mp_context if workers else None,
        )

    def run(self, indices: Sequence[int] | np.ndarray | None = None) -> Generator[Progress, None, DetectionPredictions]:
        """Predict the given images (default: every image not yet done), one Progress per batch."""
        preds = self.predictions
        todo = preds.pending() if indices is None else np.asarray(indices, dtype=np.int64)
        self._load_model()
        start = time.perf_counter()
        handled = failed = 0
        try:
            for items in self._loader(todo):
                good = [item for item in items if item.image is not None]
                for item in items:
                    if item.image is None:
                        preds.errors[item.index] = item.error
                failed += len(items) - len(good) + self._predict(good)
                handled += len(items)
                elapsed = time.perf_counter() - start
                rate = handled / elapsed if elapsed else 0.0
                yield Progress(handled, len(todo), failed, elapsed, rate, self.device, self._fit.size)
        finally:
            preds.seconds += time.perf_counter() - start
        return preds


def torch_index(keep: np.ndarray):
    """Indices for a torch tensor (a numpy int array indexes it too, but not when it is empty)."""
    import torch

    return torch.as_tensor(keep, dtype=torch.long)
