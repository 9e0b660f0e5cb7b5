"""Why a model decides as it does: saliency maps (the Grad-CAM family) for classifiers and segmenters."""

from core.explain.maps import METHODS, Explainable, explainable, saliency, saliency_maps

__all__ = ["METHODS", "Explainable", "explainable", "saliency", "saliency_maps"]
