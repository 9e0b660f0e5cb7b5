"""Model cards: what a model is, what it predicts, how its input is prepared.

A card is a JSON file beside the weights, as torchvision's weights carry their transforms
and class names. The runner needs nothing but the card to run a model on a dataset, and the
user sees the card (architecture, classes, input, the script that made it, its measured
accuracy) before running it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import TASKS
from core.models.preprocess import preprocess_image
from core.system.files import write_atomic
from core.system.resources import resources_dir

# A checkout's resources/ or the installed package's (core.system.resources); a card's ``dataset`` is
# relative to its parent ("resources/demo/digits"), which holds in both.
RESOURCES = resources_dir()
BUNDLED_MODELS = RESOURCES / "models"
INTERPOLATIONS = ("auto", "bilinear", "bicubic", "nearest")


class ModelError(Exception):
    """A model that cannot be loaded or does not fit the data; the message says why."""


@dataclass
class ModelCard:
    name: str
    architecture: str
    task: str
    classes: list[str]
    input_size: tuple[int, int]  # (height, width)
    channels: int = 3  # 1: the model takes grayscale input
    mean: list[float] = field(default_factory=lambda: [0.5])
    std: list[float] = field(default_factory=lambda: [0.5])
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None  # file name relative to the card, or an absolute path
    sha256: str | None = None
    title: str = ""
    description: str = ""
    dataset: str = ""
    script: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    #: When set, the shorter side is resized to this many pixels, then the centre is cropped to
    #: ``input_size`` (torchvision's evaluation transform). None: the image is resized to ``input_size``.
    resize_size: int | None = None
    #: "auto" (area when shrinking, else bilinear; what the bundled cards were trained with), or one of
    #: "bilinear", "bicubic", "nearest": torchvision's antialiased resize, as the weights' transforms do.
    interpolation: str = "auto"
    path: Path | None = field(default=None, compare=False)  # where the card was read from

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def weights_path(self) -> Path | None:
        if self.weights is None:
            return None
        base = self.path.parent if self.path else BUNDLED_MODELS
        return base / self.weights

    @property
    def display_name(self) -> str:
        return self.title or self.name

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("path")
        data["input_size"] = list(self.input_size)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def save(self, path: Path) -> None:
        path = Path(path)
        write_atomic(path, self.to_json().encode("utf-8"))
        self.path = path

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """H x W x 3 uint8 RGB -> C x H x W float32, resized (and cropped) and normalised as in training.

        With ``resize_size`` or an explicit ``interpolation`` the image goes through torchvision's own
        resize and centre crop, so a torchvision network sees what its weights' transforms give (to one
        grey level: torchvision's fast uint8 resize rounds a few pixels apart from its float one).
        The definition, and its tensor variant for images decoded on the GPU, is in ``core/models/preprocess.py``.
        """
        return preprocess_image(self, image)


def load_card(path: str | Path) -> ModelCard:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read model card {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ModelError(f"model card {path} is not a JSON object of card fields (it holds a {type(data).__name__})")
    known = set(ModelCard.__dataclass_fields__) - {"path"}
    missing = {"name", "architecture", "task", "classes", "input_size"} - set(data)
    if missing:
        raise ModelError(f"model card {path} lacks {sorted(missing)}")
    card = ModelCard(**{k: v for k, v in data.items() if k in known})
    problem = card_problem(card)
    if problem:
        raise ModelError(f"model card {path}: {problem}")
    card.input_size = tuple(int(v) for v in card.input_size)  # type: ignore[assignment]
    card.path = path
    return card


#: Largest input a card may ask for: a side of 8192 pixels, 4096 x 4096 pixels in all (one
#: float32 RGB image of that size is 200 MB before the model runs).
MAX_INPUT_SIDE = 8192
MAX_INPUT_PIXELS = 4096 * 4096


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _size_problem(size: Any) -> str | None:
    if not isinstance(size, (list, tuple)) or len(size) != 2 or not all(_is_int(v) for v in size):
        return f"input_size must be [height, width] in whole pixels, not {size!r}"
    height, width = size
    if not (1 <= height <= MAX_INPUT_SIDE and 1 <= width <= MAX_INPUT_SIDE) or height * width > MAX_INPUT_PIXELS:
        return (
            f"input_size {height} x {width} is outside what CV Lens runs (each side 1 to {MAX_INPUT_SIDE}, "
            f"at most {MAX_INPUT_PIXELS:,} pixels)"
        )
    return None


def _normalisation_problem(card: ModelCard) -> str | None:
    for key in ("mean", "std"):
        values = getattr(card, key)
        ok = isinstance(values, list) and len(values) in (1, card.channels)
        if not ok or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            return f"{key} must be a list of 1 or {card.channels} finite numbers, not {values!r}"
    if any(v == 0 for v in card.std):
        return "std must not be 0 (the input is divided by it)"
    return None


def card_problem(card: ModelCard) -> str | None:
    """What makes a card unusable (its fields come from a file), or None when it is sound."""
    if card.task not in TASKS:
        return f"task must be one of {', '.join(TASKS)}, not {card.task!r}"
    if not isinstance(card.classes, list) or not card.classes or not all(isinstance(c, str) for c in card.classes):
        return "classes must be a non-empty list of class names"
    if not _is_int(card.channels) or card.channels not in (1, 3):
        return f"channels must be 1 (grayscale) or 3 (RGB), not {card.channels!r}"
    if card.resize_size is not None and not (_is_int(card.resize_size) and 1 <= card.resize_size <= MAX_INPUT_SIDE):
        return f"resize_size must be a whole number of pixels from 1 to {MAX_INPUT_SIDE}, not {card.resize_size!r}"
    if card.interpolation not in INTERPOLATIONS:
        return f"interpolation must be one of {', '.join(INTERPOLATIONS)}, not {card.interpolation!r}"
    return _size_problem(card.input_size) or _normalisation_problem(card)


def bundled_cards() -> list[ModelCard]:
    """The models shipped in resources/models (a checkout's, or the installed package's), in name order."""
    if not BUNDLED_MODELS.is_dir():
        return []
    return [load_card(p) for p in sorted(BUNDLED_MODELS.glob("*.json"))]


def cards_for(classes: list[str], task: str, cards: list[ModelCard] | None = None) -> list[ModelCard]:
    """The cards whose classes and task match a dataset's, best first."""
    cards = bundled_cards() if cards is None else cards
    return [c for c in cards if c.task == task and list(c.classes) == list(classes)]


def find_card(name_or_path: str | Path) -> ModelCard:
    """A model card by bundled name ("digits-cnn") or by the path of a card file."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".json" and path.is_file():
        return load_card(path)
    if path.is_file() and path.with_suffix(".json").is_file():  # the weights file beside its card
        return load_card(path.with_suffix(".json"))
    cards = bundled_cards()
    for card in cards:
        if str(name_or_path) in (card.name, card.path.stem if card.path else ""):
            return card
    names = ", ".join(c.name for c in cards) or "none"
    raise ModelError(
        f"no model {str(name_or_path)!r}: give a bundled model ({names}) or the path of a model card (.json)"
    )


def trained_split(card: ModelCard, dataset, asked: str | None = None) -> str | None:
    """The split of ``dataset`` the model was trained on: ``asked`` (the user's word: ``--trained-on``), else
    the card's ``training["split"]`` when the card names ``dataset`` as its own (or names no dataset), else
    "train" when it names ``dataset`` as its own (the bundled models do: ``dataset`` relative to the
    repository); None when nothing says. A card's split says nothing of another dataset that has a split of
    that name. Its predictions on that split are in-sample: label issues need another source there
    (``core/analysis``)."""
    if asked:
        return asked
    own = False
    if card.dataset:
        path = Path(card.dataset) if Path(card.dataset).is_absolute() else RESOURCES.parent / card.dataset
        own = path.resolve() == Path(dataset.root).resolve()
    if card.training.get("split") and (own or not card.dataset):
        return str(card.training["split"])
    return "train" if own and "train" in dataset.splits else None
    own = Path(card.dataset) if Path(card.dataset).is_absolute() else RESOURCES.parent / card.dataset
    if own.resolve() == Path(dataset.root).resolve() and "train" in dataset.splits:
        return "train"
    return None
