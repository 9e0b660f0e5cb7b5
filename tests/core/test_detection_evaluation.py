"""core.evaluation.detection / localization: metrics.json, detections.csv, per_image.csv and the object selections."""

import csv
import json

import numpy as np
import pytest

from core.datasets.base import Dataset
from core.evaluation.detection import evaluate_detection
from core.evaluation.detection_files import summarize_detection, write_detection_evaluation
from core.evaluation.localization import summarize_localization
from core.evaluation.selection import PREDICTION, TRUTH
from core.inference.detections import DetectionPredictions

CAT, DOG, BIRD = 0, 1, 2
CLASSES = ["cat", "dog", "bird"]


class BoxDataset(Dataset):
    """A detection dataset held in memory: the real load_boxes / box_extras path of a reader."""

    layout = "in-memory boxes"

    def __init__(self, tmp_path, images, task="detection", targets=None):
        super().__init__(
            tmp_path, task=task, classes=CLASSES, splits=[], split=None,
            sample_ids=[f"img{i}.jpg" for i in range(len(images))], targets=targets,
        )  # fmt: skip
        self.images = images

    def load_boxes(self, index):
        boxes, classes = self.images[index][:2]
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int64)

    def box_extras(self, index):
        image = self.images[index]
        return dict(image[2]) if len(image) > 2 else {}


def run_of(dataset, per_image, task="detection", class_scores=None):
    run = DetectionPredictions.empty(task, CLASSES, dataset.sample_ids, model="toy")
    for i, (boxes, scores, labels) in enumerate(per_image):
        if boxes is None:
            continue  # not run
        extra = {} if class_scores is None else {"class_scores": class_scores[i]}
        run.set_image(i, boxes, scores, labels, size=(100, 100), **extra)
    return run


BOX = [0, 0, 10, 10]


def test_background_error_fixed_by_tide_gains_its_map(tmp_path):
    # One cat; a false "cat" far away scores above the right one: AP@0.5 = 0.5 (precision 1/2 at recall 1);
    # removing the background error makes it 1.
    data = BoxDataset(tmp_path, [([BOX], [CAT])])
    run = run_of(data, [([[50, 50, 60, 60], BOX], [0.9, 0.8], [CAT, CAT])])
    summary = summarize_detection(data, run)
    assert summary["map_50"] == pytest.approx(0.5, abs=0.01)
    errors = summary["errors"]
    assert errors["delta_map"] == pytest.approx(
        {**dict.fromkeys(errors["delta_map"], 0.0), "background": 0.5}, abs=0.01
    )


def test_classification_and_missed_errors_gain_their_map(tmp_path):
    # Image 0: a cat called "dog" (its AP 0, the dog class has no objects: undefined, left out).
    # Image 1: two cats, one found: the missed one costs the cat half its recall.
    data = BoxDataset(tmp_path, [([BOX], [CAT]), ([BOX, [20, 20, 30, 30]], [CAT, CAT])])
    run = run_of(data, [([BOX], [0.9], [DOG]), ([BOX], [0.7], [CAT])])
    summary = summarize_detection(data, run, score_threshold=0.5)
    assert summary["errors"]["counts"] == {
        "classification": 1, "localization": 0, "both": 0, "duplicate": 0, "background": 0, "missed": 1,
    }  # fmt: skip
    base = summary["map_50"]
    assert base == pytest.approx(34 / 101, abs=0.001)  # recall 1/3 at precision 1: 34 of the 101 recall points
    delta = summary["errors"]["delta_map"]
    # Fixing the classification: 2 of 3 cats found by the two best detections -> AP 67/101.
    assert delta["classification"] == pytest.approx(67 / 101 - base, abs=0.001)
    # Fixing the miss: 1 of 2 counted cats found -> AP 51/101.
    assert delta["missed"] == pytest.approx(51 / 101 - base, abs=0.001)
    assert summary["ap"]["dog"] in (-1, None)  # no dog objects: undefined, as COCOeval says


B = [20, 20, 30, 30]
FAR = [60, 60, 70, 70]


@pytest.mark.parametrize(
    ("kind", "objects", "detections", "base", "fixed"),
    [
        # A duplicate of A ranks above B's TP: precision 1 to recall 1/2, then 2/3 at recall 1 -> 1.
        ("duplicate", ([BOX, B], [CAT, CAT]), ([BOX, BOX, B], [0.9, 0.8, 0.7], [CAT] * 3), (51 + 50 * 2 / 3) / 101, 1),
        # A loose box on B (IoU 0.4): recall stops at 1/2 -> its fix finds B.
        ("localization", ([BOX, B], [CAT, CAT]), ([BOX, [20, 20, 30, 24]], [0.9, 0.8], [CAT] * 2), 51 / 101, 1),
        # A "dog" half on the cat (IoU 1/3) ranks above the dog's TP: dog AP 1/2, cat AP 1 -> 1.
        ("both", ([BOX, FAR], [CAT, DOG]), ([[5, 0, 15, 10], FAR, BOX], [0.9, 0.8, 0.7], [DOG, DOG, CAT]), 0.75, 1),
    ],
)
def test_each_kind_gains_its_map_by_hand(tmp_path, kind, objects, detections, base, fixed):
    data = BoxDataset(tmp_path, [objects])
    summary = summarize_detection(data, run_of(data, [detections]), score_threshold=0.5)
    assert summary["errors"]["counts"][kind] == 1
    assert summary["map_50"] == pytest.approx(base, abs=1e-6)
    delta = summary["errors"]["delta_map"]
    assert delta == pytest.approx({**dict.fromkeys(delta, 0.0), kind: fixed - base}, abs=1e-6)


def test_summary_holds_the_contract_keys(tmp_path):
    data = BoxDataset(
        tmp_path,
        [([BOX, [20, 0, 30, 10], [60, 60, 90, 90]], [CAT, DOG, CAT], {"iscrowd": np.array([0, 0, 1], bool)})],
    )
    run = run_of(data, [([BOX, [20, 0, 30, 10], [100, 100, 110, 110]], [0.9, 0.8, 0.3], [CAT, BIRD, CAT])])
    summary = summarize_detection(data, run, score_threshold=0.5)
    for key in ("task", "classes", "iou_type", "num_images", "num_objects", "num_detections", "map", "map_50",
                "map_75", "map_small", "map_medium", "map_large", "mar_1", "mar_10", "mar_100", "ap", "ap_50",
                "pr_curves", "confusion", "errors", "convention"):  # fmt: skip
        assert key in summary, key
    assert summary["num_objects"] == 2 and summary["num_detections"] == 3
    assert summary["confusion"]["labels"] == [*CLASSES, "background"]
    # The 0.3 "cat" on background is under the threshold: not in the matrix.
    assert summary["confusion"]["matrix"] == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert set(summary["pr_curves"]["cat"]) == {"recall", "precision", "scores", "best_f1"}
    json.dumps(summary, allow_nan=False)


def test_default_score_threshold_is_the_best_f1(tmp_path):
    # Cats: detections 0.9 TP, 0.8 FP, 0.7 TP, 0.2 FP over 2 objects: F1 peaks at 0.7 (4/5).
    data = BoxDataset(tmp_path, [([BOX, [20, 20, 30, 30]], [CAT, CAT])])
    boxes = [BOX, [50, 50, 60, 60], [20, 20, 30, 30], [70, 70, 80, 80]]
    run = run_of(data, [(boxes, [0.9, 0.8, 0.7, 0.2], [CAT] * 4)])
    summary = summarize_detection(data, run)
    assert summary["score_threshold"] == pytest.approx(0.7)
    assert summary["errors"]["counts"]["background"] == 1  # the 0.2 one is below the threshold


def test_undone_images_are_not_evaluated(tmp_path):
    data = BoxDataset(tmp_path, [([BOX], [CAT]), ([BOX], [DOG])])
    run = run_of(data, [([BOX], [0.9], [CAT]), (None, None, None)])
    summary = summarize_detection(data, run)
    assert summary["num_images"] == 1 and summary["num_objects"] == 1 and summary["map_50"] == pytest.approx(1.0)


def test_truth_override_replaces_an_edited_image(tmp_path):
    data = BoxDataset(tmp_path, [([BOX], [CAT]), ([BOX], [CAT])])
    run = run_of(data, [([BOX], [0.9], [CAT]), ([BOX], [0.9], [DOG])])
    assert summarize_detection(data, run)["errors"]["counts"]["classification"] == 1
    edited = {1: (np.array([BOX], np.float32), np.array([DOG]), {})}  # the user relabelled the cat a dog
    summary = summarize_detection(data, run, truth=edited)
    assert summary["errors"]["counts"]["classification"] == 0 and summary["map_50"] == pytest.approx(1.0)
    assert summarize_detection(data, run, truth=[None, edited[1]]) == summary  # None: the dataset's own


def test_a_run_over_other_classes_is_refused(tmp_path):
    data = BoxDataset(tmp_path, [([BOX], [CAT])])
    run = DetectionPredictions.empty("detection", ["cat", "dog"], data.sample_ids)
    with pytest.raises(ValueError, match="2 classes, the dataset 3"):
        evaluate_detection(data, run)


def messy(tmp_path):
    """Image 0: perfect; image 1: a cat called dog and a missed bird; image 2: a background detection."""
    data = BoxDataset(
        tmp_path,
        [([BOX], [CAT]), ([BOX, [40, 40, 60, 60]], [CAT, BIRD]), ([[5, 5, 25, 25]], [DOG])],
    )
    run = run_of(
        data,
        [
            ([BOX], [0.9], [CAT]),
            ([BOX], [0.8], [DOG]),
            ([[5, 5, 25, 25], [70, 70, 90, 90], [70, 0, 90, 20]], [0.95, 0.85, 0.1], [DOG, CAT, BIRD]),
        ],
    )
    return data, run


def test_detections_csv_round_trip_and_per_image_order(tmp_path):
    data, run = messy(tmp_path)
    summary = write_detection_evaluation(data, run, tmp_path / "out", score_threshold=0.5)
    with open(tmp_path / "out" / "detections.csv", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["sample_id", "x0", "y0", "x1", "y1", "score", "class", "match"]
        rows = list(reader)
    assert [(r[0], r[6], r[7]) for r in rows] == [
        ("img0.jpg", "cat", "TP"),
        ("img1.jpg", "dog", "FP:classification"),
        ("img1.jpg", "cat", "FN"),
        ("img1.jpg", "bird", "FN"),
        ("img2.jpg", "dog", "TP"),
        ("img2.jpg", "cat", "FP:background"),
    ]
    # Boxes and scores read back exactly (float32); an FN has the object's box and no score.
    detections = [r for r in rows if r[7] != "FN"]
    got = np.array([[float(v) for v in r[1:6]] for r in detections], np.float32)
    want = np.concatenate([np.c_[run.boxes[i], run.scores[i]][run.scores[i] >= 0.5] for i in range(3)])
    np.testing.assert_array_equal(got, want)
    assert rows[3][1:6] == ["40", "40", "60", "60", ""]
    with open(tmp_path / "out" / "per_image.csv", newline="") as handle:
        per_image = list(csv.DictReader(handle))
    # img1: FP 1 + FN 2; img2: FP 1; img0: none.
    assert [r["sample_id"] for r in per_image] == ["img1.jpg", "img2.jpg", "img0.jpg"]
    first = per_image[0]
    assert (first["tp"], first["fp"], first["fn"], first["missed"]) == ("0", "1", "2", "1")
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == summary
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["detections.csv", "metrics.json", "per_image.csv"]


def test_object_selections(tmp_path):
    data, run = messy(tmp_path)
    evaluation = evaluate_detection(data, run, score_threshold=0.5)
    cell = evaluation.cell_selection(CAT, DOG)
    assert list(cell.indices) == [1]
    refs = cell.objects
    assert list(zip(refs.sources, refs.objects, refs.kinds)) == [
        (TRUTH, 0, "FN"),
        (PREDICTION, 0, "FP · classification"),
    ]
    background = evaluation.cell_selection(3, CAT)
    assert list(background.indices) == [2] and list(background.objects.objects) == [1]
    missed = evaluation.cell_selection(BIRD, 3)
    assert list(missed.objects.samples) == [1] and list(missed.objects.objects) == [1]
    assert list(evaluation.error_selection("missed").objects.objects) == [1]
    assert len(evaluation.error_selection("background", class_index=DOG)) == 0
    assert list(evaluation.error_selection("background", class_index=CAT).indices) == [2]
    fn = evaluation.outcome_selection("FN", class_index=CAT)
    assert list(fn.indices) == [1] and list(fn.objects.objects) == [0]
    assert list(evaluation.outcome_selection("TP").indices) == [0, 2]
    image = evaluation.image_selection(2)
    assert list(image.objects.kinds) == ["TP", "TP", "FP · background"]
    worst = evaluation.worst_images()
    assert worst.ordered and list(worst.indices) == [1, 2, 0]


def test_localization_accuracy_iou_and_imagenet_correct(tmp_path):
    # Image 0: right class, IoU 1 (correct); image 1: right class, IoU 0.25 (not correct); image 2: wrong class.
    data = BoxDataset(tmp_path, [([BOX], [CAT]), ([BOX], [DOG]), ([BOX], [BIRD])], task="localization")
    scores = np.array([[0.8, 0.1, 0.1], [0.1, 0.7, 0.2], [0.6, 0.1, 0.3]], np.float32)
    boxes = [[BOX], [[0, 0, 5, 5]], [BOX]]
    run = run_of(data, [(boxes[i], [scores[i].max()], [scores[i].argmax()]) for i in range(3)], "localization", scores)
    summary = summarize_localization(data, run)
    numbers = summary["localization"]
    assert summary["task"] == "localization"
    assert numbers["accuracy"] == pytest.approx(2 / 3)
    assert numbers["correct"] == pytest.approx(1 / 3)
    assert numbers["mean_iou"] == pytest.approx((1 + 0.25 + 1) / 3)
    assert numbers["per_class"]["dog"] == {"images": 1, "accuracy": 1.0, "mean_iou": 0.25, "correct": 0.0}
    assert "map_50" in summary and "confusion" in summary
