"""The bundled models and demos from a checkout: its own resources/ (not another checkout's), whatever lies
there, and a missing one named with the place it was looked for. The installed case: tests/e2e/test_wheel.py."""

from pathlib import Path

import pytest

from core.models import bundled_cards
from core.system.resources import ResourcesMissing, bundled, is_installed_data, resources_dir

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_reads_its_own_resources():
    assert resources_dir() == ROOT / "resources"
    assert bundled("demo", "digits") == ROOT / "resources" / "demo" / "digits"
    assert not is_installed_data(bundled("demo", "digits"))  # a checkout's demo keeps its store beside it


def test_every_card_under_models_is_a_bundled_model():
    cards = {card.path.name for card in bundled_cards()}
    assert cards == {p.name for p in (ROOT / "resources" / "models").glob("*.json")} and "digits_cnn.json" in cards


def test_a_missing_resource_says_where_it_was_looked_for():
    with pytest.raises(ResourcesMissing, match=r"the bundled demo/nothing is not installed \(looked in .*nothing\)"):
        bundled("demo", "nothing")
