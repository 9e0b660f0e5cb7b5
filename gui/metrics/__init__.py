"""The metrics view."""

from gui.metrics.metrics_pane import MetricsPane

__all__ = ["MetricsPane"]
