"""The map of a dataset's class names to a model's: the same function headless (--map-classes) and in the GUI."""

from __future__ import annotations

import numpy as np
import pytest

from core.inference.class_map import map_classes, suggested_class_map
from core.models import ModelError

MODEL = ["Crane", "shark", "Goldfish", "tench", "crane", "unicorn"]  # ImageNet names "crane" twice
DATASET = ["tench", "goldfish", "crane", "zebra"]


def test_the_suggestion_is_what_map_classes_matches_headless():
    suggestion = suggested_class_map(MODEL, DATASET)
    assert suggestion == {"tench": "tench", "goldfish": "Goldfish", "crane": "Crane"}
    assert map_classes(MODEL, DATASET, suggestion).sources == map_classes(MODEL, DATASET).sources
    assert map_classes(MODEL, DATASET).sources == [[3], [2], [0, 4], []]


def test_the_users_map_decides_and_ignored_classes_are_never_predicted():
    mapping = map_classes(MODEL, DATASET, {"tench": "shark", "goldfish": "Goldfish"})
    assert mapping.sources == [[1], [2], [], []] and mapping.unmapped == ["crane", "zebra"]
    scores = np.array([[0.1, 0.5, 0.2, 0.1, 0.05, 0.05]], np.float32)
    np.testing.assert_allclose(mapping.apply(scores), [[0.5 / 0.7, 0.2 / 0.7, 0, 0]], rtol=1e-6)


def test_a_map_of_nothing_or_of_unknown_names_is_refused():
    with pytest.raises(ModelError, match="nothing to map"):
        map_classes(MODEL, DATASET, {})
    with pytest.raises(ModelError, match="does not have: dragon"):
        map_classes(MODEL, DATASET, {"tench": "dragon"})
