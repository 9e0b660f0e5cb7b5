"""Which models the runner offers for a dataset, each with its :class:`~core.tasks.base.Fit`.

Three sources: the bundled models (``resources/models``), the user's own models opened this session, and
torchvision's networks (listed once torch is in: :func:`zoo_cards` is a worker's job). The bundled and
opened ones are all offered, those that run first and the others greyed out with the reason; of torchvision's
hundreds only those that run on the dataset, as they are or through a class map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.datasets.base import Dataset
from core.models import zoo  # torchvision is imported by zoo's functions, not at import
from core.models.cards import ModelCard, ModelError, bundled_cards
from core.tasks import Fit, fit


@dataclass(frozen=True)
class Offer:
    """A model in the runner's list and how it fits the open dataset."""

    card: ModelCard
    fit: Fit

    @property
    def enabled(self) -> bool:
        """It can be picked: it runs as it is, or once its classes are mapped."""
        return self.fit.runnable

    @property
    def reason(self) -> str:
        """Why it cannot be picked (the greyed-out entry's tooltip); empty when it can."""
        return "" if self.enabled else self.fit.reason

    @property
    def needs_class_map(self) -> bool:
        return self.fit.needs_class_map

    @property
    def needs_download(self) -> bool:
        return weights_missing(self.card)


def weights_missing(card: ModelCard) -> bool:
    """A torchvision card whose weights are not in torch's cache yet (the runner offers to download them)."""
    return (
        card.architecture.startswith("torchvision:")
        and card.weights_path is not None
        and not card.weights_path.is_file()
    )


def zoo_cards() -> list[ModelCard]:
    """torchvision's classifiers and segmenters with their default weights (imports torchvision: a worker's job)."""
    cards = []
    for name in zoo.zoo_names():
        try:
            cards.append(zoo.zoo_card(name))
        except Exception:  # a network torchvision lists without weights metadata: not offered
            continue
    return cards


def offers(dataset: Dataset, cards: Iterable[ModelCard], zoo: Iterable[ModelCard] = ()) -> list[Offer]:
    """``cards`` (every one; those that run first, in their order, then the others with the reason), then
    the ``zoo`` networks that run on ``dataset`` (as they are, or through a class map)."""
    listed = sorted((Offer(card, fit(card, dataset)) for card in cards), key=lambda offer: not offer.enabled)
    listed += [offer for offer in (Offer(card, fit(card, dataset)) for card in zoo) if offer.enabled]
    return listed


class Catalogue:
    """The models the runner knows this session: bundled, opened by the user, torchvision's."""

    def __init__(self, bundled: Callable[[], list[ModelCard]] = bundled_cards) -> None:
        self._bundled = bundled
        self.opened: list[ModelCard] = []
        #: torchvision's networks, empty until :meth:`set_zoo` (listing them imports torchvision).
        self.zoo: list[ModelCard] = []
        #: Why the bundled models are missing from the last :meth:`offers` (a card that cannot be read).
        self.problem = ""

    def add_opened(self, card: ModelCard) -> None:
        self.opened.append(card)

    def set_zoo(self, cards: list[ModelCard]) -> None:
        self.zoo = list(cards)

    def offers(self, dataset: Dataset | None) -> list[Offer]:
        """What the runner lists for ``dataset`` (nothing without one); see :func:`offers`."""
        if dataset is None:
            return []
        try:
            bundled, self.problem = self._bundled(), ""
        except ModelError as exc:  # one broken card in resources/: the user's own models are still offered
            bundled, self.problem = [], str(exc)
        return offers(dataset, [*bundled, *self.opened], self.zoo)
