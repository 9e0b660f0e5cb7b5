"""Analysis > Label issues: the samples whose labels the model contradicts, most suspect first, fixed by keys.

A takes the suggested label (tags), K keeps the given one (marks it reviewed), X excludes the sample; each
is one step in the project store, so Edit > Undo (Ctrl+Z) takes it back like any edit, and the row reads
open again: an issue's state is read from the labels and marks as they are now
(``core.analysis.issue_review``), never kept here. After a key the next open issue is selected, and the
selected issue is the sample the browser shows. The metrics follow every edit through ``labels_changed``.

The confusion matrix's "Label issues in this cell" calls :meth:`LabelIssuesView.show_cell`: given = the
cell's true class, suggested = its predicted class.
"""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.analysis.issue_review import (
    filter_issues,
    is_multilabel,
    issue_states,
    next_open,
    of_open_split,
    state_counts,
)
from core.analysis.label_issues import CROSS_VALIDATED, HELD_OUT
from core.evaluation.selection import Selection
from core.labels import REVIEWED, StoreError
from gui.metrics.analysis_model import AnalysisModel
from gui.metrics.label_issues_table import GIVEN, SAMPLE, STATE, SUGGESTED, THUMB, THUMBNAIL, LabelIssuesTable

#: "Any class" in the filter combos.
ANY = -1
NO_STORE = "These labels cannot be changed here (no project store for this dataset): A, K and X do nothing."


def key_action(owner: QWidget, text: str, key: str, tip: str, slot) -> QAction:
    """An action on ``key`` while the focus is inside ``owner`` (the table), its key named in its tooltip."""
    action = QAction(text, owner)
    action.setShortcut(QKeySequence(key))
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.setToolTip(f"{tip} ({key})")
    action.setProperty("help_group", "Label issues")  # gui.labeling's HELP_GROUP: the Help's group for them
    action.triggered.connect(lambda _=False: slot())
    owner.addAction(action)
    return action


class LabelIssuesView(QWidget):
    """The ranked label issues of the shown run's analysis, with filters and the A / K / X keys."""

    def __init__(self, model: AnalysisModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.state = model, model.state
        self._cell: tuple[int, int] | None = None  # a cell asked for before the issues were found
        self._quiet = False  # a row selected to follow the browser: it must not open the sample again
        #: The analysis' issues of the open split (indices: its samples), and how many are in other splits.
        self.issues, self.elsewhere = None, 0
        self.table_model = LabelIssuesTable(self)
        self._build()
        model.reset.connect(self._on_reset)
        model.found.connect(self._on_found)
        model.failed.connect(lambda _m: self._show_empty())
        model.cancelled.connect(self._show_empty)
        model.availability_changed.connect(lambda _ok: self._show_empty())
        self.state.labels_changed.connect(self._on_labels_changed)
        self.state.project_changed.connect(lambda _p: self._on_labels_changed(None))
        self.state.sample_selected.connect(self._follow_sample)
        self._show_empty()

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.summary = QLabel(wordWrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice = QLabel(wordWrap=True)
        self.notice.setStyleSheet("color: #b00020")
        self.notice.hide()
        self.table = self._make_table()
        keys = self._make_keys()
        self.browser_button = QPushButton("Show in browser")
        self.browser_button.setToolTip("Show the issues listed here in the browser, most suspect first")
        self.browser_button.clicked.connect(self.show_in_browser)
        keys.addStretch(1)
        keys.addWidget(self.browser_button)
        page = QWidget()
        inner = QVBoxLayout(page)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(self._make_filters())
        inner.addLayout(keys)
        inner.addWidget(self.table, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._make_empty_page())
        self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.notice)
        layout.addWidget(self.stack, 1)

    def _make_filters(self) -> QHBoxLayout:
        self.given_combo, self.suggested_combo = QComboBox(), QComboBox()
        for combo in (self.given_combo, self.suggested_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.currentIndexChanged.connect(lambda _i: self.refilter())
        self.open_only = QCheckBox("Only open issues")
        self.open_only.setToolTip("Hide the issues already accepted, kept or excluded")
        self.open_only.toggled.connect(lambda _on: self.refilter())
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Given:"))
        filters.addWidget(self.given_combo, 1)
        filters.addWidget(QLabel("Suggested:"))
        filters.addWidget(self.suggested_combo, 1)
        filters.addWidget(self.open_only)
        return filters

    def _make_empty_page(self) -> QWidget:
        """What shows before the issues are found: why, and the Analyse button when it can start."""
        self.empty = QLabel(wordWrap=True, alignment=Qt.AlignmentFlag.AlignCenter)
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.setToolTip("Find the label issues (and the rest of the analysis) of this run")
        self.analyse_button.clicked.connect(self.model.start)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.empty)
        layout.addWidget(self.analyse_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        return page

    def _make_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.table_model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(False)
        table.setIconSize(QSize(THUMB, THUMB))
        table.verticalHeader().hide()
        rows = table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: 100,000 of them scroll freely
        rows.setDefaultSectionSize(THUMB + 4)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(SAMPLE, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 44), (THUMBNAIL, THUMB + 8), (GIVEN, 90), (SUGGESTED, 90), (5, 56), (STATE, 70)):
            header.resizeSection(column, width)
        table.selectionModel().currentRowChanged.connect(lambda current, _prev: self._open_row(current.row()))
        return table

    def _make_keys(self) -> QHBoxLayout:
        self.accept_action = key_action(self, "Accept Suggestion", "A", "Take the suggested label", self.accept)
        self.keep_action = key_action(self, "Keep Label", "K", "The label is right: mark it reviewed", self.keep)
        self.exclude_action = key_action(
            self, "Exclude Sample", "X", "Leave the sample out of metrics and exports", self.exclude
        )
        row = QHBoxLayout()
        for action, text in ((self.accept_action, "Accept  A"), (self.keep_action, "Keep  K")):
            action.setIconText(text)
        self.exclude_action.setIconText("Exclude  X")
        self._tips = {a: a.toolTip() for a in (self.accept_action, self.keep_action, self.exclude_action)}
        self.key_buttons = []
        for action in (self.accept_action, self.keep_action, self.exclude_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            row.addWidget(button)
            self.key_buttons.append(button)
        return row

    # -- the analysis' news ---------------------------------------------------------------------
    def _on_reset(self) -> None:
        self.table_model.set_issues(None, [], [], None, np.zeros(0, np.int8))
        self._show_empty()

    def _on_found(self, stage: str) -> None:
        if stage == "label issues":
            self._load()

    def _load(self) -> None:
        analysis = self.model.analysis
        issues = None if analysis is None else analysis.label_issues
        if issues is None:
            self._show_empty()
            return
        classes = analysis.input.classes
        self.issues, self.elsewhere = of_open_split(issues, len(self.state.dataset))
        issues = self.issues
        self.table_model.set_issues(issues, classes, self.state.dataset.sample_ids, self.state.dataset, self._states())
        self._fill_combos(issues, classes)
        self.stack.setCurrentIndex(1)
        if self._cell is not None:
            self.show_cell(*self._cell)
        else:
            self.refilter()
        self._show_notice()

    def _fill_combos(self, issues, classes: list[str]) -> None:
        multilabel = is_multilabel(issues)
        what = "tags include" if multilabel else "label is"
        self.given_combo.setToolTip(f"Only the issues whose given {what} this class (as when analysed)")
        self.suggested_combo.setToolTip(f"Only the issues whose suggested {what} this class")
        for combo, column in ((self.given_combo, issues.given), (self.suggested_combo, issues.suggested)):
            column = np.asarray(column)
            counts = column.sum(axis=0) if multilabel else np.bincount(column, minlength=len(classes))
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(f"any ({len(issues):,})", ANY)
            for k, name in enumerate(classes):
                combo.addItem(f"{name} ({int(counts[k]):,})", k)
            combo.blockSignals(False)

    def _show_empty(self) -> None:
        """Say why no issues are listed: no analysis yet (with Analyse), analysing, or no labels."""
        analysis, model = self.model.analysis, self.model
        if analysis is not None and analysis.label_issues is not None:
            return
        reason = model.unavailable_reason()
        if model.running:
            text = "Finding the label issues…"
        elif analysis is not None and "label issues" in analysis.done:
            text = "No label issues: " + ("; ".join(analysis.notes) or "the dataset has no labels")
        elif reason:
            text = reason
        else:
            text = (
                "Analyse first: it finds the samples whose labels the model's out-of-sample probabilities contradict."
            )
        if self._cell is not None and not model.running and not reason:
            t, p = self._cell
            names = list(self.model.state.dataset.classes) if self.state.dataset is not None else []
            if max(t, p) < len(names):
                text = f"Analyse first, to see the label issues of true {names[t]} → predicted {names[p]}."
        self.empty.setText(text)
        self.analyse_button.setVisible(not model.running and not reason)
        self.summary.setText("")
        self.stack.setCurrentIndex(0)
        self._enable()

    # -- filters -------------------------------------------------------------------------------
    def show_cell(self, true_class: int, pred_class: int) -> None:
        """Only the issues given ``true_class`` for which ``pred_class`` is suggested (a confusion-matrix cell)."""
        self._cell = (true_class, pred_class)
        if self.table_model.issues is None:
            self._show_empty()
            return
        self._cell = None
        for combo, value in ((self.given_combo, true_class), (self.suggested_combo, pred_class)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.blockSignals(False)
        self.refilter()
        if self.table_model.rowCount():
            self._select_row(0)

    def filters(self) -> tuple[int | None, int | None]:
        """(given, suggested) class filters; None for any."""
        values = [combo.currentData() for combo in (self.given_combo, self.suggested_combo)]
        return tuple(None if v is None or v == ANY else int(v) for v in values)

    def refilter(self) -> None:
        issues = self.table_model.issues
        if issues is None:
            return
        current = self._current_sample()
        given, suggested = self.filters()
        states = self.table_model.states
        positions = filter_issues(
            issues, states, given=given, suggested=suggested, open_only=self.open_only.isChecked()
        )
        self.table_model.set_positions(positions)
        if current is not None and self.table_model.row_of_sample(current) >= 0:
            self._select_row(self.table_model.row_of_sample(current), open_sample=False)
        self._show_summary()
        self._enable()

    @staticmethod
    def _source(analysis) -> str:
        """Where the open split's probabilities came from (the open split's rows come first in the analysis)."""
        if not analysis.input.predicted.any() or analysis.input.probabilities is None:
            return analysis.source
        return CROSS_VALIDATED if analysis.input.trained[0] else HELD_OUT

    def _show_summary(self) -> None:
        analysis, table = self.model.analysis, self.table_model
        if analysis is None or table.issues is None:
            return
        counts = state_counts(table.states)
        fixed = len(table.states) - counts["open"]
        done = ", ".join(f"{n:,} {name}" for name, n in counts.items() if n and name != "open")
        shown = len(table.positions)
        shown_text = (
            "" if shown == len(table.states) else f" · {shown:,} shown" if shown else " · none with these filters"
        )
        self.summary.setText(
            f"<b>{len(table.states):,} label issues</b>, {fixed:,} fixed" + (f" ({done})" if done else "")
            + f", {counts['open']:,} open{shown_text}"
            + (f" · {self.elsewhere:,} more in other splits (reviewed there)" if self.elsewhere else "")
            + f" &nbsp;<small>from {escape(self._source(analysis))}</small>"
        )  # fmt: skip
        self.summary.setToolTip(f"Ranked by {table.issues.ranked_by.replace('_', '-')}: lower scores first")

    # -- the keys ---------------------------------------------------------------------------------
    def accept(self) -> bool:
        """A: each chosen issue takes its suggested label (multilabel: tags) and is marked reviewed."""
        issues, positions = self.table_model.issues, self._chosen()
        if not len(positions):
            return False
        idx = self.table_model.dataset_indices(positions)
        if is_multilabel(issues):
            change = {"tags": np.asarray(issues.suggested)[positions]}
        else:
            change = {"label": np.asarray(issues.suggested)[positions]}
        words = self._say("accept the suggestion for {}", idx)
        return self._edit(positions, lambda p: p.edit(idx, status="reviewed", description=words, **change))

    def keep(self) -> bool:
        """K: the chosen issues keep their labels, marked reviewed."""
        positions = self._chosen()
        idx = self.table_model.dataset_indices(positions)
        words = self._say("keep the label of {}", idx)
        return self._edit(positions, lambda p: p.set_status(idx, "reviewed", words))

    def exclude(self) -> bool:
        """X: the chosen samples are left out of metrics and exports."""
        positions = self._chosen()
        idx = self.table_model.dataset_indices(positions)
        return self._edit(positions, lambda p: p.set_status(idx, "excluded", self._say("exclude {}", idx)))

    def _edit(self, positions: np.ndarray, edit) -> bool:
        project = self.state.project
        if not len(positions):
            return False
        if project is None or project.read_only:
            self.state.message.emit(NO_STORE)
            self._show_notice()
            return False
        try:
            edit(project)  # labels_changed follows at once: the states and the filter are up to date below
        except (StoreError, ValueError) as exc:
            self.state.error.emit("The labels were not changed", str(exc))
            return False
        self._go_to_next_open(int(positions.max()))
        return True

    def _go_to_next_open(self, after: int) -> None:
        table = self.table_model
        position = next_open(table.positions, table.states, after)
        if position is None:
            self.state.message.emit("Every label issue listed here is decided.")
            return
        self._select_row(table.row_of_position(position))

    def _chosen(self) -> np.ndarray:
        """The positions of the selected rows (the current one when none is selected), in rank order."""
        table, view = self.table_model, self.table
        rows = sorted({i.row() for i in view.selectionModel().selectedRows()})
        if not rows and view.currentIndex().isValid():
            rows = [view.currentIndex().row()]
        return np.sort(table.positions[rows]) if rows else np.zeros(0, np.int64)

    def _say(self, template: str, indices: np.ndarray) -> str:
        n = len(indices)
        what = self.table_model.sample_ids[int(indices[0])] if n == 1 else f"{n:,} samples"
        return template.format(what)

    # -- following the store and the browser --------------------------------------------------------
    def _states(self) -> np.ndarray:
        issues, dataset, project = self.issues, self.state.dataset, self.state.project
        marks = {}
        if project is not None:
            status = project.status()
            marks = {"reviewed": status == REVIEWED, "excluded": project.excluded()}  # "ignore" labels too
        if is_multilabel(issues):
            return issue_states(issues, tags=dataset.tags, **marks)
        return issue_states(issues, targets=dataset.targets, **marks)

    def _on_labels_changed(self, _indices) -> None:
        self._show_notice()
        if self.table_model.issues is None or self.model.analysis is None or self.state.dataset is None:
            return
        self.table_model.set_states(self._states())
        self.refilter()

    def _show_notice(self) -> None:
        project = self.state.project
        self.notice.setVisible(self.table_model.issues is not None and (project is None or project.read_only))
        self.notice.setText(NO_STORE if project is None else f"{NO_STORE} {project.notice}".strip())
        self._enable()

    def _enable(self) -> None:
        project = self.state.project
        writable = self.table_model.issues is not None and project is not None and not project.read_only
        for action, tip in self._tips.items():
            action.setEnabled(self.table_model.issues is not None)  # the keys still say why they do nothing
            action.setToolTip(tip if writable else f"{tip}<br><i>{NO_STORE}</i>")
        self.browser_button.setEnabled(self.table_model.rowCount() > 0)

    def _current_sample(self) -> int | None:
        index = self.table.currentIndex()
        return None if not index.isValid() else int(self.table_model.dataset_indices()[index.row()])

    def _select_row(self, row: int, open_sample: bool = True) -> None:
        if row < 0:
            return
        index = self.table_model.index(row, SAMPLE)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self._quiet = not open_sample
        try:
            self.table.selectionModel().setCurrentIndex(index, flags)
        finally:
            self._quiet = False
        self.table.scrollTo(index)
        if open_sample:
            self._open_row(row)

    def _open_row(self, row: int) -> None:
        """The browser shows the issue's sample."""
        if row < 0 or self.table_model.issues is None or self._quiet:
            return
        index = int(self.table_model.dataset_indices()[row])
        if self.state.current != index:
            self.state.select_sample(index)

    def _follow_sample(self, index: int | None) -> None:
        """The browser opened a sample: its issue's row is highlighted, if it has one."""
        if index is None or self._current_sample() == index:
            return
        row = self.table_model.row_of_sample(index)
        if row >= 0:
            self._select_row(row, open_sample=False)

    def show_in_browser(self) -> None:
        """The issues listed (filters applied), most suspect first, become the browser's selection."""
        indices = self.table_model.dataset_indices()
        if not len(indices):
            return
        given, suggested = self.filters()
        names = self.table_model.classes
        words = [f"given {names[given]}"] if given is not None else []
        words += [f"suggested {names[suggested]}"] if suggested is not None else []
        words += ["open"] if self.open_only.isChecked() else []
        name = "label issues" + (f" ({', '.join(words)})" if words else "")
        self.state.set_selection(Selection.of(name, indices, ordered=True))

    def shutdown(self) -> None:
        self.table_model.shutdown()
