"""Tooltips from the metric glossary (core/metrics/glossary.py) on every place a metric name is shown.

Table headers get their entry when the table is filled; labels whose text changes (summaries) and
combo boxes get an event filter that explains the metric names in what they show at the moment the
tooltip is asked for, so a summary written later still has its explanations.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QTableWidget, QToolTip, QWidget

from core.metrics.glossary import Term, lookup, terms_in

_TAGS = re.compile(r"<[^>]+>")


def term_html(term: Term) -> str:
    """One entry as rich text: the name, the formula, what high and low values mean."""
    source = " (the lecture's formula)" if term.lecture else ""
    return (
        f"<b>{html.escape(term.name)}</b><br><code>{html.escape(term.formula)}</code>{source}<br>"
        f"{html.escape(term.meaning)}"
    )


def metric_tooltip(name: str) -> str:
    """The tooltip for a header or label that is one metric name ("F0.5", "Prec."), else ""."""
    term = lookup(name)
    return f"<p>{term_html(term)}</p>" if term is not None else ""


def text_tooltip(text: str) -> str:
    """The entries of every metric named in ``text`` (rich or plain), one paragraph each, else ""."""
    plain = html.unescape(_TAGS.sub(" ", text))
    return "".join(f"<p>{term_html(term)}</p>" for term in terms_in(plain))


def set_header_tooltips(table: QTableWidget) -> None:
    """Each horizontal header naming a metric gets its entry (others keep theirs)."""
    for col in range(table.columnCount()):
        item = table.horizontalHeaderItem(col)
        tip = metric_tooltip(item.text()) if item is not None else ""
        if tip:
            item.setToolTip(tip)


def shown_text(widget: QWidget) -> str:
    """What a label, button or combo box shows now."""
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, (QLabel, QAbstractButton)):
        return widget.text()
    return ""


def effective_tooltip(widget: QWidget) -> str:
    """The widget's own tooltip followed by the entries of the metrics its text names (what the user sees)."""
    own = widget.toolTip()
    explained = text_tooltip(shown_text(widget)) if widget.property("explains_metrics") else ""
    if own and explained:
        return f"<p>{html.escape(own) if not Qt.mightBeRichText(own) else own}</p>{explained}"
    return own or explained


class _Explainer(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(watched, QWidget):
            tip = effective_tooltip(watched)
            if tip:
                QToolTip.showText(event.globalPos(), tip, watched)
                return True
        return False


def with_glossary(tip: str, name: str) -> str:
    """``tip`` (what a view says of its own number) followed by the glossary's entry for ``name``, if any."""
    entry = text_tooltip(name)
    if not entry:
        return tip
    own = tip if tip.lstrip().startswith("<") else f"<p>{html.escape(tip)}</p>"
    return own + entry


def explain_metrics(*widgets: QWidget) -> None:
    """Make the tooltip of labels, buttons and combo boxes explain the metrics their text names."""
    for widget in widgets:
        widget.setProperty("explains_metrics", True)
        if isinstance(widget, QComboBox):  # items added later explain themselves too
            widget.model().rowsInserted.connect(lambda *_args, w=widget: _set_item_tips(w))
            _set_item_tips(widget)
        explainer = _Explainer(widget)
        widget.installEventFilter(explainer)


def _set_item_tips(combo: QComboBox) -> None:
    """Each item of the drop-down list explains its own metric."""
    for i in range(combo.count()):
        tip = text_tooltip(combo.itemText(i))
        if tip:
            combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
