"""The browser's colours for right, wrong and failed, shared by tiles, texts and bars."""

from PySide6.QtGui import QColor

RIGHT_COLOR = QColor(46, 160, 67)
WRONG_COLOR = QColor(218, 54, 51)
EXTRA_COLOR = QColor(230, 130, 0)
BAR_COLOR = QColor(90, 120, 200)
ERROR_FILL = QColor(218, 54, 51, 40)
LOADING_FILL = QColor(128, 128, 128, 40)
