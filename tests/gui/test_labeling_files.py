"""File > Export Labels… and File > Import Labels from CSV…, through their dialogs."""

from __future__ import annotations

import csv

import numpy as np

from core.datasets import open_dataset


def test_export_to_image_folders_reads_back_with_the_edits(qtbot, digits, open_window, tmp_path):
    window = open_window(digits)
    state = window.state
    state.project.set_label([0, 1], "9")
    state.project.set_label([2], -2)  # ignore: left out of folder exports
    window.labeling.export_action.trigger()
    dialog = window.labeling.export_dialog
    assert dialog.format.currentData() == "image_folder"
    assert [dialog.format.itemData(i) for i in range(dialog.format.count())][:2] == ["image_folder", "csv"]
    out = tmp_path / "exported"
    dialog.folder.setText(str(out))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60_000)
    assert "Wrote 359 samples" in dialog.summary.toPlainText()
    assert "left out: 1" in dialog.summary.toPlainText()
    back = open_dataset(out, split="test")
    ids, targets = state.dataset.sample_ids, state.dataset.targets
    expected = {sid: state.dataset.classes[t] for sid, t in zip(ids, targets) if t >= 0}
    got = {sid.split("/")[-1]: back.classes[t] for sid, t in zip(back.sample_ids, back.targets)}
    assert got == {sid.split("/")[-1]: name for sid, name in expected.items()}
    assert got[state.dataset.sample_ids[0].split("/")[-1]] == "9"
    dialog.close()


def test_export_refuses_a_folder_holding_anything_and_takes_an_empty_one(qtbot, digits, open_window, tmp_path):
    window = open_window(digits)
    window.labeling.export_action.trigger()
    dialog = window.labeling.export_dialog
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("the user's")
    dialog.folder.setText(str(tmp_path / "taken"))
    dialog.export_button.click()
    assert "exists already" in dialog.summary.toPlainText() and dialog.result is None
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["mine.txt"]
    (tmp_path / "taken" / "mine.txt").unlink()  # an empty folder (one just made in the folder dialog) is taken
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    assert (tmp_path / "taken" / "summary.json").is_file()
    dialog.close()


def test_csv_import_previews_applies_in_one_step_and_undoes(qtbot, digits, open_window, tmp_path):
    window = open_window(digits)
    state = window.state
    ids = state.dataset.sample_ids
    path = tmp_path / "fixes.csv"
    with open(path, "w", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["sample_id", "label"])
        rows.writerows([[ids[0], "4"], [ids[1], "5"], ["test/0/nope.png", "3"], [ids[2], "giraffe"], [ids[3], "0"]])
    window.labeling.import_csv(str(path))
    qtbot.waitUntil(lambda: window.labeling.import_dialog is not None, timeout=30_000)
    dialog = window.labeling.import_dialog
    assert dialog.changes.rowCount() == 2 and dialog.mismatches.rowCount() == 2
    assert "2 changes to 2 samples · 2 rows did not match" in dialog.heading.text()
    assert "giraffe" in dialog.mismatches.item(1, 2).text()
    before = state.dataset.targets.copy()
    dialog.apply_button.click()
    assert not dialog.isVisible()
    targets = state.dataset.targets
    assert [state.dataset.classes[t] for t in targets[:2]] == ["4", "5"]
    np.testing.assert_array_equal(targets[2:], before[2:])
    assert window.labeling.actions.undo.text() == "&Undo import fixes.csv: 2 changes"
    window.labeling.actions.undo.trigger()
    np.testing.assert_array_equal(state.dataset.targets, before)
