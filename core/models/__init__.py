"""Model cards, architectures and safe weight loading. torch is imported only when a model is built."""

from core.models.cards import (
    BUNDLED_MODELS,
    ModelCard,
    ModelError,
    bundled_cards,
    cards_for,
    find_card,
    load_card,
    trained_split,
)

__all__ = [
    "BUNDLED_MODELS",
    "ModelCard",
    "ModelError",
    "bundled_cards",
    "cards_for",
    "find_card",
    "load_card",
    "trained_split",
]
