"""The settings of the next run and what the runner remembers between runs, without Qt.

:class:`RunSettings` is one run: which model on which dataset, on which device, how many images at once,
the tile of a segmenter, the class map. :class:`RunPlan` is what the runner pane shows and decides: the
models offered for the open dataset (a :class:`~core.tasks.catalogue.Catalogue`), the class map the user
made per (model, dataset), and the job of the last run, which the next run resumes when its settings are
the same (a run cancelled half-way goes on where it stopped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.datasets.base import Dataset
from core.models.cards import ModelCard, ModelError
from core.tasks import Task, fit, job_for, of
from core.tasks.catalogue import Catalogue, Offer


@dataclass(frozen=True)
class RunSettings:
    """One run of ``card`` over ``dataset``. ``device``: "auto" or a device name; ``tile``: a segmenter's tile
    size in pixels (None: each image resized to the model's input); ``class_map``: dataset class -> model
    class, for a model whose classes are named differently; ``embeddings``: capture each sample's embedding in
    the same pass (``job.embeddings`` once the run is complete)."""

    card: ModelCard
    dataset: Dataset
    device: str = "auto"
    batch_size: int = 64
    tile: int | None = None
    class_map: Mapping[str, str] | None = None
    embeddings: bool = False

    @property
    def task(self) -> Task:
        return of(self.card)

    def job(self, **more: Any):
        """A new job with these settings (``more``: num_workers, run_dir, ...); ModelError when it cannot run.

        Cheap once torch is imported and the device is up: the model is built on the job's first step."""
        device = None if self.device == "auto" else self.device
        class_map = None if self.class_map is None else dict(self.class_map)
        return job_for(
            self.card,
            self.dataset,
            class_map=class_map,
            device=device,
            batch_size=self.batch_size,
            tile=self.tile,
            embeddings=self.embeddings,
            **more,
        )

    def continues(self, earlier: RunSettings, job) -> bool:
        """Whether this run goes on with ``job``, made with ``earlier`` settings and stopped before its end.

        Same model, dataset (the object: a reopened dataset may have changed), class map, tile and embeddings
        (a job without them cannot give them for the samples it did); the device
        the job ran on, or "auto". The batch size may differ: the job keeps the size it found to fit."""
        return (
            not job.predictions.complete
            and earlier.card.name == self.card.name
            and earlier.dataset is self.dataset
            and earlier.class_map == self.class_map
            and earlier.tile == self.tile
            and earlier.embeddings == self.embeddings
            and self.device in ("auto", job.device)
        )


class RunPlan:
    """What the runner knows about the next run: the offers for the open dataset, the class maps made per
    (model, dataset), and the last run's job with its settings."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue if catalogue is not None else Catalogue()
        self.dataset: Dataset | None = None
        self.offers: list[Offer] = []
        self._class_maps: dict[tuple[str, str], dict[str, str]] = {}
        self._last: tuple[RunSettings, Any] | None = None

    # -- the dataset and the models offered ----------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        """A new dataset (or none): the offers follow it, and no run of the last one is resumed."""
        self.dataset = dataset
        self._last = None
        self.refresh()

    def refresh(self) -> list[Offer]:
        """The offers again (a model was opened, torchvision's networks were listed)."""
        self.offers = self.catalogue.offers(self.dataset)
        return self.offers

    def offer(self, card: ModelCard) -> Offer | None:
        """The offer of ``card`` (this very card object), None when it is not listed."""
        return next((offer for offer in self.offers if offer.card is card), None)

    # -- class maps ------------------------------------------------------------------------------
    def _key(self, card: ModelCard) -> tuple[str, str]:
        return (card.name, str(self.dataset.root) if self.dataset is not None else "")

    def class_map(self, card: ModelCard) -> dict[str, str] | None:
        """The map the user made for ``card`` on the open dataset, None before one is made."""
        mapping = self._class_maps.get(self._key(card))
        return None if mapping is None else dict(mapping)

    def set_class_map(self, card: ModelCard, mapping: Mapping[str, str]) -> None:
        """Keep the user's map for ``card`` on the open dataset; ModelError (and nothing kept) when it maps no
        class or does not fit (a name the model does not have). A run made with another map is not resumed."""
        if self.dataset is None:
            raise ModelError("no dataset is open: nothing to map")
        if not mapping:
            raise ModelError("no dataset class is mapped to a model class: nothing to run")
        mapped = fit(card, self.dataset, mapping)
        if not mapped.fits:
            raise ModelError(mapped.reason)
        self._class_maps[self._key(card)] = dict(mapping)

    # -- the next run ----------------------------------------------------------------------------
    def settings(
        self,
        card: ModelCard,
        *,
        device: str = "auto",
        batch_size: int = 64,
        tile: int | None = None,
        embeddings: bool = False,
    ):
        """The settings of a run of ``card`` on the open dataset: the class map made for it, and ``tile`` only
        for a per-pixel task (a classifier has no tiles)."""
        if self.dataset is None:
            raise ModelError("no dataset is open")
        tile = tile if of(card).per_pixel else None
        return RunSettings(card, self.dataset, device, batch_size, tile, self.class_map(card), embeddings)

    @property
    def job(self):
        """The job of the last run (running, cancelled, failed or finished); None before the first."""
        return self._last[1] if self._last is not None else None

    def resumes(self, settings: RunSettings) -> bool:
        """Whether a run with ``settings`` goes on with the last run's job (:meth:`RunSettings.continues`)."""
        return self._last is not None and settings.continues(*self._last)

    def job_for(self, settings: RunSettings, **more: Any):
        """The job of the next run: the last one when it :meth:`resumes`, else a new one (kept as the last).
        ModelError when the model cannot run; then no job is resumed afterwards."""
        if self.resumes(settings):
            return self.job
        self._last = None
        job = settings.job(**more)
        self._last = (settings, job)
        return job

    def forget_job(self) -> None:
        """The next run starts from the first sample."""
        self._last = None
