"""CSV import: a preview of the changes, the rows that did not match, one undo step to apply."""

from __future__ import annotations

from pathlib import Path

from core.datasets import open_dataset
from core.labels import IGNORE, UNLABELED, open_project
from core.labels.export import export_labels
from core.labels.importer import preview_csv
from tests.core.test_labels_support import image_folder
from tests.fake_datasets import write_celeba


def test_preview_lists_changes_and_mismatches_and_applies_as_one_step(tmp_path: Path) -> None:
    root = image_folder(tmp_path)
    project = open_project(open_dataset(root))
    csv_file = tmp_path / "fixes.csv"
    csv_file.write_text(
        "\ufeffSample_ID,Label\n"  # a BOM and capitals, as spreadsheets write
        "cat/cat_0.png,dog\n"  # by sample id
        f"{root / 'cat' / 'cat_1.png'},eel\n"  # by absolute path
        "cat/cat_2.png,1\n"  # by class index
        "dog/dog_0.png,<ignore>\n"
        "dog/dog_1.png,\n"  # empty: unlabeled
        "dog/dog_2.png,dog\n"  # already so: unchanged
        "\n"
        "eel/eel_0.png,zebra\n"  # not a class
        "eel/nope.png,cat\n"  # not a sample
        "cat/cat_0.png,eel\n"  # given twice
        "eel/eel_1.png,7\n"  # index outside the classes
    )
    preview = preview_csv(project, csv_file)
    assert [(c.line, c.sample_id, c.old, c.new) for c in preview.changes] == [
        (2, "cat/cat_0.png", "cat", "dog"),
        (3, "cat/cat_1.png", "cat", "eel"),
        (4, "cat/cat_2.png", "cat", "dog"),
        (5, "dog/dog_0.png", "dog", "ignore"),
        (6, "dog/dog_1.png", "dog", "unlabeled"),
    ]
    assert [(m.line, m.reason) for m in preview.mismatches] == [
        (9, "label 'zebra' is not one of the 3 classes"),
        (10, "no sample 'eel/nope.png' in the dataset"),
        (11, "the sample was already given on line 2"),
        (12, "label '7' is not one of the 3 classes"),
    ]
    assert preview.mismatches[0].row == ("eel/eel_0.png", "zebra") and preview.unchanged == 1
    assert not project.edited().any()  # a preview writes nothing

    step = preview.apply()
    assert step.description == "import fixes.csv: 5 changes"
    assert project.targets().tolist() == [1, 2, 1, IGNORE, UNLABELED, 1, 2, 2, 2]
    project.undo()
    assert not project.edited().any()


def test_headerless_csv_by_relative_path_and_other_splits(tmp_path: Path) -> None:
    root = image_folder(tmp_path, splits=("train", "test"))
    project = open_project(open_dataset(root, split="test"))
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("test/cat/cat_0.png,eel\ntrain/dog/dog_0.png,cat\n")  # the second is in another split
    preview = preview_csv(project, csv_file)
    assert [(c.split, c.sample_id, c.new) for c in preview.changes] == [
        ("test", "test/cat/cat_0.png", "eel"),
        ("train", "train/dog/dog_0.png", "cat"),
    ]
    preview.apply()
    assert project.targets()[0] == 2 and project.for_split("train").targets()[3] == 0
    project.undo()
    assert project.targets()[0] == 0 and project.for_split("train").targets()[3] == 1


def test_tags_marks_and_notes_round_trip_through_the_csv_export(tmp_path: Path) -> None:
    write_celeba(tmp_path, n=6)
    root = tmp_path / "celeba"
    project = open_project(open_dataset(root, split="train"))
    project.set_tags(0, ["Bald", "Attractive"])
    project.set_status(1, "flagged")
    project.set_note(1, "two faces")
    export_labels(project, tmp_path / "out", "csv")
    edited = {s: (project.for_split(s).tags(), project.for_split(s).status()) for s in ("train", "valid", "test")}

    project.store.close()
    (root / ".cvlens").rename(tmp_path / "old-store")  # a fresh store: the import must rebuild the edits
    fresh = open_project(open_dataset(root, split="train"))
    assert not fresh.edited().any()
    preview = preview_csv(fresh, tmp_path / "out" / "labels.csv")
    assert preview.mismatches == [] and len(preview.changes) == 3
    preview.apply()
    for split, (tags, status) in edited.items():
        assert (fresh.for_split(split).tags() == tags).all() and (fresh.for_split(split).status() == status).all()
    assert fresh.note(1) == "two faces"

    bad = tmp_path / "bad.csv"
    bad.write_text("id,tags,status\n000001.jpg,Bald;Wings,\n000002.jpg,Bald,great\n000003.jpg,Bald,\n")
    preview = preview_csv(fresh, bad)
    assert [(m.line, m.reason) for m in preview.mismatches] == [
        (2, "tag 'Wings' is not one of the 40 labels"),
        (3, "status 'great' is not one of ('reviewed', 'flagged', 'excluded') (or empty)"),
    ]
    assert [(c.sample_id, c.field, c.new) for c in preview.changes][:1] == [("000003.jpg", "tags", "Bald")]
