"""The model runner pane."""

from gui.runner.runner_pane import RunnerPane

__all__ = ["RunnerPane"]
