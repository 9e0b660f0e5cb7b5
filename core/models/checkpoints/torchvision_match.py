"""torchvision's networks recognised in a state_dict by comparison with each network's own state_dict.

Each network is built once on torch's "meta" device with a head of :data:`SENTINEL` classes (so the
head's tensors stand out), and its shapes are kept in the user data folder per torchvision version.
torchvision is imported inside the functions: importing ``core.models`` must not load torch (start-up time).
"""

from __future__ import annotations

import json
import math
import os
from functools import cache
from pathlib import Path

from core.models import detectors
from core.models.checkpoints.signatures import Recognised, Shapes, meta_shapes, shapes_of
from core.models.weights import user_data_dir
from core.models.zoo import AUX_LOGITS, AUX_LOSS_PREFIXES, segmentation_names, task_of, zoo_names

SENTINEL = 997  # a class count no layer has by chance: the tensors that get it are the head
# (a detector's heads have a multiple of it: 4 box coordinates or 9 anchors per class)


def _variants(name: str) -> list[dict]:
    """The builder options that change which tensors a network has (auxiliary heads, kept or not)."""
    if name in AUX_LOGITS:
        return [{"aux_logits": True}, {"aux_logits": False}]
    if name.startswith(AUX_LOSS_PREFIXES):
        return [{"aux_loss": True}, {"aux_loss": False}]
    return [{}]


def _torchvision_shapes(name: str, variant: dict) -> Shapes:
    import torchvision.models

    kwargs = dict(variant, num_classes=SENTINEL)
    if name in segmentation_names() or detectors.is_detector(name):
        kwargs["weights_backbone"] = None
    if name in AUX_LOGITS:
        kwargs["init_weights"] = False
    try:
        return meta_shapes(lambda: torchvision.models.get_model(name, weights=None, **kwargs))
    except RuntimeError:  # a builder that computes with its tensors (SSDlite): built for real, once per version
        return shapes_of(torchvision.models.get_model(name, weights=None, **kwargs).state_dict())


class SignatureStore:
    """State_dict shapes of torchvision's networks (the head's class count = SENTINEL), built when first
    needed and kept in the user data folder per torchvision version: building all takes seconds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            rows = json.loads(path.read_text())
        except (OSError, ValueError):
            rows = {}
        self.rows: dict[str, Shapes] = {k: {n: tuple(s) for n, s in v.items()} for k, v in rows.items()}
        self.dirty = False

    def shapes(self, name: str, variant: dict) -> Shapes:
        key = f"{name}|{json.dumps(variant, sort_keys=True)}"
        if key not in self.rows:
            self.rows[key] = _torchvision_shapes(name, variant)
            self.dirty = True
        return self.rows[key]

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(self.rows))
            tmp.replace(self.path)
            self.dirty = False
        except OSError:
            pass  # a read-only data folder only costs the time to build them again next time


@cache
def signature_store() -> SignatureStore:
    import torchvision

    return SignatureStore(user_data_dir() / f"torchvision-signatures-{torchvision.__version__}.json")


def _likeness(a: Shapes, b: Shapes) -> float:
    """Share of tensor names two state_dicts have in common (Jaccard index)."""
    return len(a.keys() & b.keys()) / max(1, len(a.keys() | b.keys()))


def _candidates(shapes: Shapes, only: str | None = None) -> list[tuple[str, dict]]:
    """(name, variant) of the torchvision networks to compare with, likeliest first: families (builder
    modules) ranked by how many tensor names their first member shares with the checkpoint."""
    import torchvision.models

    families: dict[str, list[str]] = {}
    for name in [only] if only else zoo_names():
        families.setdefault(torchvision.models.get_model_builder(name).__module__, []).append(name)
    store = signature_store()

    def likeness(members: list[str]) -> float:
        return max(_likeness(store.shapes(members[0], v), shapes) for v in _variants(members[0]))

    ranked = sorted(families.values(), key=likeness, reverse=True)
    return [(name, v) for members in ranked for name in members for v in _variants(name)]


def _vit_image_size(expected: tuple, got: tuple, shapes: Shapes) -> dict | None:
    """ViT's position embedding has one row per patch (+1): it gives the image size it was trained at."""
    patch = shapes.get("conv_proj.weight", (0, 0, 0))[2]
    side = math.isqrt(got[1] - 1) if len(got) == 3 and got[1] > 1 else 0
    if not patch or side * side != got[1] - 1 or got[::2] != expected[::2]:
        return None
    return {"image_size": side * patch}


FREE_SHAPES = {"encoder.pos_embedding": _vit_image_size}


def _torchvision_match(name: str, expected: Shapes, shapes: Shapes) -> dict | None:
    """The builder kwargs (num_classes included) under which torchvision's ``name`` has exactly ``shapes``."""
    if expected.keys() != shapes.keys():
        return None
    kwargs: dict = {}
    for key, want in expected.items():
        got = shapes[key]
        if want and want[0] and want[0] % SENTINEL == 0:
            per_class = want[0] // SENTINEL
            if got[1:] != want[1:] or got[0] % per_class:
                return None
            if kwargs.setdefault("num_classes", got[0] // per_class) != got[0] // per_class:
                return None
        elif got != want:
            extra = FREE_SHAPES[key](want, got, shapes) if key in FREE_SHAPES else None
            if extra is None:
                return None
            kwargs.update(extra)
    return kwargs if "num_classes" in kwargs else None


def _recognised(name: str, variant: dict, kwargs: dict) -> Recognised:
    kwargs = dict(kwargs, **variant)
    if name in AUX_LOGITS:
        kwargs["transform_input"] = True  # fine-tuned from torchvision's weights; edit the card if not
    num_classes = kwargs.pop("num_classes")
    return Recognised(f"torchvision:{name}", task_of(name), kwargs, num_classes, 3)


def torchvision_matches(shapes: Shapes, only: str | None = None) -> list[Recognised]:
    """The torchvision network that has exactly these tensors. Their state_dicts are all different, but for
    detectors that differ only in their settings (Faster R-CNN MobileNetV3 and its 320 variant): every
    detector that fits is returned, for the user to choose."""
    store = signature_store()
    found: list[Recognised] = []
    try:
        for name, variant in _candidates(shapes, only):
            if found and not detectors.is_detector(name):
                continue
            kwargs = _torchvision_match(name, store.shapes(name, variant), shapes)
            if kwargs is None:
                continue
            found.append(_recognised(name, variant, kwargs))
            if not detectors.is_detector(name):
                return found
        return found
    finally:
        store.save()


def closest(shapes: Shapes, n: int = 3) -> list[str]:
    """The torchvision networks sharing most tensors (name and shape) with ``shapes``, for the message."""
    pairs, store = set(shapes.items()), signature_store()
    best: dict[str, float] = {}
    for name, variant in _candidates(shapes):
        expected = store.shapes(name, variant)
        score = len(pairs & set(expected.items())) / max(len(pairs), len(expected))
        best[name] = max(score, best.get(name, 0.0))
    store.save()
    ranked = sorted(best.items(), key=lambda item: -item[1])
    return [f"{name} ({score:.0%} of tensors alike)" for name, score in ranked[:n] if score >= 0.5]


def detector_matches(shapes: Shapes) -> list[Recognised]:
    """The torchvision detectors that have exactly these tensors (a scripted detector's state_dict)."""
    store = signature_store()
    try:
        found = []
        for name in detectors.detector_names():
            kwargs = _torchvision_match(name, store.shapes(name, {}), shapes)
            if kwargs is not None:
                found.append(_recognised(name, {}, kwargs))
        return found
    finally:
        store.save()
