"""The architecture of a state_dict, from its key names and shapes: the networks of ``core.models`` by
their key signature first, then torchvision's networks by comparison with their own state_dicts."""

from __future__ import annotations

from core.models import networks
from core.models.cards import ModelError
from core.models.checkpoints.signatures import Recognised, registered_matches, shapes_of
from core.models.checkpoints.torchvision_match import closest, torchvision_matches
from core.models.zoo import is_zoo_name


class AmbiguousArchitecture(ModelError):
    """Several architectures fit a state_dict exactly; ``candidates`` lists them for the user to choose."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


def recognise(state: dict, architecture: str | None = None) -> Recognised:
    """The architecture of a state_dict, from its key names and shapes.

    ``architecture`` ("smallcnn", "resnet50" or "torchvision:resnet50") restricts the search to that network,
    as when the user chose among candidates. Raises :class:`AmbiguousArchitecture` when several fit exactly,
    ModelError (naming the closest networks) when none does.
    """
    shapes = shapes_of(state)
    if architecture and architecture not in networks.by_name() and not architecture.startswith("torchvision:"):
        architecture = f"torchvision:{architecture}" if is_zoo_name(architecture) else architecture
    torchvision_only = bool(architecture) and architecture.startswith("torchvision:")
    found = [] if torchvision_only else registered_matches(shapes, architecture)
    if not found and (architecture is None or torchvision_only):
        found = torchvision_matches(shapes, architecture.removeprefix("torchvision:") if architecture else None)
    unique = list({r.architecture: r for r in found}.values())
    if len(unique) == 1:
        return unique[0]
    if len(unique) > 1:
        names = [r.architecture for r in unique]
        raise AmbiguousArchitecture(f"the weights fit several architectures: {', '.join(names)}; choose one", names)
    if architecture:
        raise ModelError(f"the weights do not fit {architecture}")
    nearest = closest(shapes)
    hint = f"; the closest are {', '.join(nearest)}" if nearest else ""
    raise ModelError(f"the weights ({len(shapes)} tensors) are of an architecture CV Lens does not know{hint}")
