"""core.metrics.detection_analysis / detection_errors: PR curves, the confusion matrix with background, TIDE's kinds."""

import numpy as np
import pytest
from sklearn.metrics import precision_recall_curve

from core.metrics import detection_analysis as da
from core.metrics import detection_errors as de

CAT, DOG, BIRD = 0, 1, 2
BOX = [0, 0, 10, 10]


def truth(boxes, classes, **extras):
    return (np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int64), extras)


def dets(boxes, scores, classes):
    return (np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32), np.asarray(classes))


# -- PR curves ----------------------------------------------------------------------------------------------------
def random_run(seed, images=30, num_classes=3):
    rng = np.random.default_rng(seed)
    gts, preds = [], []
    for _ in range(images):
        g = rng.integers(0, 5)
        corner = rng.uniform(0, 80, (g, 2))
        boxes = np.c_[corner, corner + rng.uniform(5, 20, (g, 2))]
        gts.append(truth(boxes, rng.integers(0, num_classes, g), iscrowd=rng.random(g) < 0.1))
        jitter = boxes + rng.normal(0, 2.0, boxes.shape)
        extra = rng.integers(0, 3)
        corner = rng.uniform(0, 80, (extra, 2))
        pboxes = np.r_[jitter, np.c_[corner, corner + 10]]
        classes = np.r_[gts[-1][1], rng.integers(0, num_classes, extra)]
        flip = rng.random(len(classes)) < 0.2
        classes[flip] = rng.integers(0, num_classes, flip.sum())
        # Rounded scores: ties happen, as with real detectors' float32 outputs.
        preds.append(dets(pboxes, np.round(rng.random(len(pboxes)), 1), classes))
    return gts, preds


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pr_curve_is_scikit_learns_with_recall_over_every_object(seed):
    gts, preds = random_run(seed)
    scores, classes, hits, objects = da.scored_matches(gts, preds)
    curves = da.class_pr_curves(gts, preds, 3)
    for c in range(3):
        mine = classes == c
        if not hits[mine].any():
            continue
        precision, recall, thresholds = precision_recall_curve(hits[mine], scores[mine])
        positives = (objects == c).sum()
        # scikit-learn: increasing thresholds, recall over the detected TPs, a last (1, 0) point.
        np.testing.assert_allclose(curves[c]["scores"], thresholds[::-1])
        np.testing.assert_allclose(curves[c]["precision"], precision[:-1][::-1])
        np.testing.assert_allclose(curves[c]["recall"], recall[:-1][::-1] * hits[mine].sum() / positives)


def test_crowd_regions_neither_count_as_objects_nor_punish_detections():
    gts = [truth([BOX, [50, 50, 90, 90]], [CAT, CAT], iscrowd=[False, True])]
    preds = [dets([BOX, [55, 55, 65, 65]], [0.9, 0.8], [CAT, CAT])]
    curve = da.class_pr_curves(gts, preds, 1)[0]
    np.testing.assert_allclose(curve["precision"], [1.0])
    np.testing.assert_allclose(curve["recall"], [1.0])


def test_best_f1_by_hand():
    # 2 objects; detections 0.9 TP, 0.8 FP, 0.7 TP: F1 = 2/3 at 0.9, 1/2 at 0.8, 4/5 at 0.7.
    gts = [truth([BOX, [20, 20, 30, 30]], [CAT, CAT])]
    preds = [dets([BOX, [50, 50, 60, 60], [20, 20, 30, 30]], [0.9, 0.8, 0.7], [CAT, CAT, CAT])]
    best = da.class_pr_curves(gts, preds, 1)[0]["best_f1"]
    assert best == pytest.approx({"score": 0.7, "precision": 2 / 3, "recall": 1.0, "f1": 0.8})
    assert da.best_f1_threshold(gts, preds)["score"] == pytest.approx(0.7)


def test_best_f1_undefined_without_a_true_positive():
    best = da.class_pr_curves([truth(BOX, [CAT])], [dets([[50, 50, 60, 60]], [0.9], [CAT])], 1)[0]["best_f1"]
    assert np.isnan(best["score"]) and np.isnan(best["f1"])


def test_a_long_curve_is_thinned_keeping_its_ends_and_best_f1():
    rng = np.random.default_rng(0)
    hits = rng.random(5000) < 0.3
    curve = da.pr_curve(rng.random(5000), hits, 2000)
    curve["best_f1"] = da.best_f1(curve)
    thin = da.thin_curve(curve, 100)
    assert 100 <= len(thin["scores"]) <= 101
    assert thin["scores"][0] == curve["scores"][0] and thin["recall"][-1] == curve["recall"][-1]
    assert curve["best_f1"]["score"] in thin["scores"]
    assert np.all(np.diff(thin["scores"]) < 0)  # still highest score first
    assert da.thin_curve(curve, 10_000) is curve


# -- confusion matrix ---------------------------------------------------------------------------------------------
def test_confusion_matrix_by_hand():
    # cat found; dog labelled "bird" (same box); bird missed; a "cat" on background; a crowd "cat" region ignored.
    gts = [
        truth([BOX, [20, 0, 30, 10], [40, 0, 50, 10], [60, 60, 90, 90]], [CAT, DOG, BIRD, CAT], iscrowd=[0, 0, 0, 1])
    ]
    preds = [dets([BOX, [20, 0, 30, 10], [100, 100, 110, 110], [62, 62, 70, 70]], [0.9, 0.8, 0.7, 0.6], [0, 2, 0, 0])]
    conf = [da.image_confusion(gts[0], preds[0], 3)]
    matrix = da.confusion_matrix(gts, preds, conf, 3)
    expected = np.zeros((4, 4), np.int64)
    expected[CAT, CAT] = expected[DOG, BIRD] = expected[BIRD, 3] = expected[3, CAT] = 1
    np.testing.assert_array_equal(matrix, expected)
    # Each cell knows its objects: the dog object is paired with detection 1, the crowd region with nothing.
    np.testing.assert_array_equal(conf[0].truth_column, [CAT, BIRD, 3, -1])
    np.testing.assert_array_equal(conf[0].truth_pair, [0, 1, -1, -1])
    np.testing.assert_array_equal(conf[0].pred_row, [CAT, DOG, 3, -1])
    np.testing.assert_array_equal(conf[0].pred_pair, [0, 1, -1, -1])


def test_confusion_matches_the_right_class_first():
    # A better-overlapping "dog" on a cat that a "cat" detection found: the cat is a TP (the diagonal equals
    # match_image's TPs), the dog a false detection on background; Ultralytics' class-blind matching would
    # have put the cat in column dog instead.
    gts = [truth(BOX, [CAT])]
    preds = [dets([[0, 0, 10, 7], BOX], [0.6, 0.9], [CAT, DOG])]
    conf = [da.image_confusion(gts[0], preds[0], 2)]
    matrix = da.confusion_matrix(gts, preds, conf, 2)
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [0, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize("seed", [0, 1])
def test_confusion_sums_are_objects_and_detections(seed):
    gts, preds = random_run(seed)
    conf = [da.image_confusion(g, p, 3) for g, p in zip(gts, preds)]
    matrix = da.confusion_matrix(gts, preds, conf, 3)
    _, classes, hits, objects = da.scored_matches(gts, preds)
    np.testing.assert_array_equal(matrix[:3].sum(axis=1), np.bincount(objects, minlength=3))
    np.testing.assert_array_equal(matrix[:, :3].sum(axis=0), np.bincount(classes, minlength=3))
    np.testing.assert_array_equal(np.diag(matrix)[:3], np.bincount(classes[hits], minlength=3))


# -- TIDE's error kinds -------------------------------------------------------------------------------------------
def one_of_each_kind():
    """Objects: cat A (found), cat B (a "dog" on it), cat C (poorly localized), dog D ("cat" at IoU 0.3, missed),
    bird E (missed). Detections: TP on A, a duplicate of A, the dog on B, the loose cat on C, the cat on D, one
    on background."""
    objects = [[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10], [80, 0, 90, 10]]
    detections = [[0, 0, 10, 10], [0, 0, 10, 9], [20, 0, 30, 10], [40, 0, 50, 3], [60, 0, 63, 10], [0, 50, 9, 60]]
    return (
        truth(objects, [CAT, CAT, CAT, DOG, BIRD]),
        dets(detections, [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [CAT, CAT, DOG, CAT, CAT, BIRD]),
    )


def test_each_error_kind_by_hand():
    image = de.image_errors(*one_of_each_kind())
    none = de.NO_ERROR
    assert list(image.pred_error) == [none, de.DUPLICATE, de.CLASSIFICATION, de.LOCALIZATION, de.BOTH, de.BACKGROUND]
    assert list(image.pred_object) == [-1, 0, 1, 2, 3, -1]
    # B and C have fixable errors on them: not missed; a "both" error does not explain a miss (TIDE).
    assert list(image.missed) == [False, False, False, True, True]
    assert list(image.fixable) == [False, False, True, True, False, False]
    assert de.error_counts([image]) == {**dict.fromkeys(de.ERROR_KINDS, 1), "missed": 2}


def test_error_counts_of_one_class():
    gt, pred = one_of_each_kind()
    image = de.image_errors(gt, pred)
    counts = de.error_counts([image], [gt[1]], [pred[2]], class_index=BIRD)
    assert counts == {**dict.fromkeys(de.ERROR_KINDS, 0), "background": 1, "missed": 1}


def test_a_localization_error_on_a_found_object_is_not_fixable():
    gts = truth(BOX, [CAT])
    image = de.image_errors(gts, dets([BOX, [0, 0, 10, 4]], [0.9, 0.8], [CAT, CAT]))
    assert list(image.pred_error) == [de.NO_ERROR, de.LOCALIZATION]
    assert list(image.fixable) == [False, False]


def test_the_best_scoring_error_on_an_object_is_the_one_fixed():
    # Two errors on one unfound cat: a "dog" (classification, 0.6) and a loose cat (localization, 0.8).
    image = de.image_errors(truth(BOX, [CAT]), dets([BOX, [0, 0, 10, 4]], [0.6, 0.8], [DOG, CAT]))
    assert list(image.pred_error) == [de.CLASSIFICATION, de.LOCALIZATION]
    assert list(image.fixable) == [False, True]


def test_an_image_without_objects_has_only_background_errors():
    image = de.image_errors(truth(np.zeros((0, 4)), []), dets([BOX], [0.5], [CAT]))
    assert list(image.pred_error) == [de.BACKGROUND]


def test_crowd_regions_take_no_errors():
    # A detection on a crowd region is ignored (no error); one half on it is measured against counted objects only.
    gts = truth([BOX, [50, 50, 90, 90]], [CAT, DOG], iscrowd=[False, True])
    image = de.image_errors(gts, dets([[55, 55, 60, 60], [60, 0, 70, 10]], [0.9, 0.8], [DOG, CAT]))
    assert list(image.pred_error) == [de.NO_ERROR, de.BACKGROUND]
    assert list(image.missed) == [True, False]


def test_fixes_follow_tide():
    gt, pred = one_of_each_kind()
    errors = [de.image_errors(gt, pred)]
    (fixed_truth,), (fixed,) = de.fixed_inputs([gt], [pred], errors, "classification")
    assert len(fixed[0]) == 6 and fixed[2][2] == CAT  # the dog on cat B became a cat
    np.testing.assert_array_equal(fixed[0][2], gt[0][1])
    (fixed_truth,), (fixed,) = de.fixed_inputs([gt], [pred], errors, "localization")
    np.testing.assert_array_equal(fixed[0][3], gt[0][2])  # the loose cat takes C's box
    for kind, gone in (("duplicate", 1), ("both", 4), ("background", 5)):
        (fixed_truth,), (fixed,) = de.fixed_inputs([gt], [pred], errors, kind)
        np.testing.assert_array_equal(fixed[1], np.delete(pred[1], gone), err_msg=kind)
    (fixed_truth,), (fixed,) = de.fixed_inputs([gt], [pred], errors, "missed")
    assert list(fixed_truth[1]) == [CAT, CAT, CAT] and len(fixed[0]) == 6


def test_a_fixed_error_becomes_a_true_positive_and_changes_no_other_match():
    for seed in range(3):
        gts, preds = random_run(seed)
        errors = [de.image_errors(g, p) for g, p in zip(gts, preds)]
        before = [da.match(g, p) for g, p in zip(gts, preds)]
        for kind in ("classification", "localization"):
            fixed_truth, fixed = de.fixed_inputs(gts, preds, errors, kind)
            code = de.ERROR_KINDS.index(kind)
            for g, p, image, old in zip(fixed_truth, fixed, errors, before):
                new = da.match(g, p)
                kept = (image.pred_error != code) | image.fixable
                status = np.where(image.fixable & (image.pred_error == code), 1, old.pred_status)[kept]
                np.testing.assert_array_equal(new.pred_status, status)


def test_worst_first():
    order = da.worst_first([5, 0, 1, 0], [1, 2, 0, 0], [1, 0, 2, 0])
    # FP + FN: 2, 2, 2, 0; then FN: 1, 0, 2 -> images 2, 0, 1, 3.
    assert list(order) == [2, 0, 1, 3]
