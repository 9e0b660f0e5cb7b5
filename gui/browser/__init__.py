"""Dataset browser: filters, a virtualized thumbnail grid, the selected sample and the class chart."""

from gui.browser.pane import BrowserPane

__all__ = ["BrowserPane"]
