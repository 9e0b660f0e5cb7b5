"""The runner: batches, progress, per-sample failures, cancel and resume, model/data mismatch."""

import json

import cv2
import numpy as np
import pytest
import torch

from core.datasets import open_dataset
from core.inference import InferenceJob, Predictions, run_to_end
from core.models import ModelCard, ModelError, load_card
from core.models.loading import build_model
from core.models.smallcnn import SmallCNN
from core.models.weights import file_sha256


@pytest.fixture
def folder(tmp_path):
    """A 3-class image folder of 30 images whose class is its colour, plus one corrupt file."""
    rng = np.random.default_rng(0)
    colours = {"blue": (255, 0, 0), "green": (0, 255, 0), "red": (0, 0, 255)}  # BGR for cv2
    root = tmp_path / "colours"
    for name, bgr in colours.items():
        (root / name).mkdir(parents=True)
        for i in range(10):
            image = np.clip(np.array(bgr) + rng.integers(-20, 20, (12, 12, 3)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / name / f"{i:02d}.png"), image)
    (root / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


def make_card(tmp_path, classes, train_on=None) -> ModelCard:
    """A SmallCNN card with random (or briefly fitted) weights saved as a real checkpoint."""
    torch.manual_seed(0)
    model = SmallCNN(in_channels=3, num_classes=len(classes), width=4)
    card = ModelCard(
        name="tiny",
        architecture="smallcnn",
        task="multiclass",
        classes=list(classes),
        input_size=(16, 16),
        channels=3,
        mean=[0.5],
        std=[0.5],
        arch_kwargs={"width": 4},
        weights="tiny.pt",
    )
    if train_on is not None:
        xs = torch.from_numpy(
            np.stack(
                [
                    card.preprocess(train_on.load_image(i))
                    for i in range(len(train_on))
                    if not train_on.sample_ids[i].endswith("broken.png")
                ]
            )
        )
        ys = torch.from_numpy(
            np.array([t for i, t in enumerate(train_on.targets) if not train_on.sample_ids[i].endswith("broken.png")])
        )
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        model.train()
        for _ in range(60):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xs), ys).backward()
            opt.step()
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    card.sha256 = file_sha256(tmp_path / "tiny.pt")
    card.save(tmp_path / "tiny.json")
    return load_card(tmp_path / "tiny.json")


def test_run_predicts_every_readable_sample_and_records_the_broken_one(folder, tmp_path):
    dataset = open_dataset(folder)
    card = make_card(tmp_path, dataset.classes, train_on=dataset)
    job = InferenceJob(card, dataset, device="cpu", batch_size=8, num_workers=0)
    seen = []
    preds = run_to_end(job, seen.append)
    broken = dataset.sample_ids.index("red/broken.png")
    assert preds.num_done == 30 and list(preds.errors) == [broken]
    assert "broken.png" in preds.errors[broken]
    assert seen[-1].done == 31 and seen[-1].failed == 1 and seen[-1].total == 31
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert np.allclose(preds.scores[preds.done].sum(axis=1), 1, atol=1e-5)
    assert np.isnan(preds.scores[broken]).all() and preds.predicted[broken] == -1
    # the tiny model learned the colours: the runner's predictions are the model's
    keep = preds.done
    assert (preds.predicted[keep] == dataset.targets[keep]).mean() == 1.0


def test_runner_matches_a_plain_torch_loop(folder, tmp_path):
    dataset = open_dataset(folder)
    card = make_card(tmp_path, dataset.classes)
    preds = run_to_end(InferenceJob(card, dataset, device="cpu", batch_size=5, num_workers=0))
    model = build_model(card)
    index = dataset.sample_ids.index("green/03.png")
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(card.preprocess(dataset.load_image(index)))[None]), 1)
    assert np.allclose(preds.scores[index], expected.numpy()[0], atol=1e-5)


def test_cancel_keeps_what_was_done_and_run_resumes(folder, tmp_path):
    dataset = open_dataset(folder)
    card = make_card(tmp_path, dataset.classes)
    job = InferenceJob(card, dataset, device="cpu", batch_size=4, num_workers=0)
    gen = job.run()
    next(gen)
    next(gen)
    gen.close()  # what a GUI cancel does between two batches
    assert job.predictions.num_done + len(job.predictions.errors) == 8
    assert not job.predictions.complete
    first = job.predictions.scores.copy()
    run_to_end(job)
    assert job.predictions.complete and job.predictions.num_done == 30
    done_before = ~np.isnan(first).any(axis=1)
    assert np.array_equal(first[done_before], job.predictions.scores[done_before])


def test_a_model_for_other_classes_is_refused_before_running(folder, tmp_path):
    dataset = open_dataset(folder)
    card = make_card(tmp_path, ["cat", "dog"])
    with pytest.raises(ModelError, match="predicts 2 classes"):
        InferenceJob(card, dataset, device="cpu")


def test_a_model_whose_head_disagrees_with_its_card_is_a_clear_error(folder, tmp_path):
    dataset = open_dataset(folder)
    card = make_card(tmp_path, dataset.classes)
    wrong_head = SmallCNN(in_channels=3, num_classes=7, width=4).eval()
    job = InferenceJob(card, dataset, device="cpu", model=wrong_head, num_workers=0)
    with pytest.raises(ModelError, match="7 outputs"):
        run_to_end(job)


def test_predictions_round_trip_through_disk(folder, tmp_path):
    dataset = open_dataset(folder)
    card = make_card(tmp_path, dataset.classes)
    preds = run_to_end(InferenceJob(card, dataset, device="cpu", num_workers=0))
    again = Predictions.load(preds.save(tmp_path / "p.npz"))
    assert again.sample_ids == preds.sample_ids and again.errors == preds.errors
    assert np.array_equal(again.scores, preds.scores, equal_nan=True)
    assert np.array_equal(again.predicted, preds.predicted)


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    with open(tmp_path / "evil.pt", "wb") as handle:
        pickle.dump({"weights": Evil()}, handle)
    card = ModelCard(
        name="evil",
        architecture="smallcnn",
        task="multiclass",
        classes=["a", "b"],
        input_size=(8, 8),
        weights="evil.pt",
    )
    card.save(tmp_path / "evil.json")
    with pytest.raises(ModelError, match="never runs code"):
        build_model(load_card(tmp_path / "evil.json"))
    assert not (tmp_path / "pwned").exists()


def test_a_card_with_a_wrong_checksum_is_refused(tmp_path):
    card = make_card(tmp_path, ["a", "b", "c"])
    data = json.loads(card.path.read_text())
    data["sha256"] = "0" * 64
    card.path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="checksum"):
        build_model(load_card(card.path))


def test_reading_predictions_while_a_job_fills_them_on_another_thread():
    """The GUI reads `predicted` while the worker marks samples done: one snapshot of `done` per read."""
    import threading

    n = 20_000
    preds = Predictions.empty("multiclass", ["a", "b", "c"], [str(i) for i in range(n)])
    preds.scores[:] = np.random.default_rng(0).random((n, 3), dtype=np.float32)
    stop = threading.Event()

    def fill():
        for start in range(0, n, 16):
            preds.done[start : start + 16] = True
        stop.set()

    worker = threading.Thread(target=fill)
    worker.start()
    reads = 0
    while True:  # raised "cannot assign N input values to M outputs" before the fix
        finished = stop.is_set()
        predicted = preds.predicted
        assert predicted.shape == (n,) and np.isin(predicted, [-1, 0, 1, 2]).all()
        reads += 1
        if finished:
            break
    worker.join()
    assert reads > 0 and (preds.predicted >= 0).all()


def test_scores_that_are_not_finite_are_errors_of_those_samples_not_predictions(folder, tmp_path):
    card = make_card(tmp_path, ["blue", "green", "red"])
    state = torch.load(tmp_path / "tiny.pt", weights_only=True)
    name = next(k for k, v in state.items() if v.is_floating_point() and v.ndim == 4)
    state[name].fill_(float("nan"))  # NaN weights: every output is NaN
    torch.save(state, tmp_path / "tiny.pt")
    card.sha256 = file_sha256(tmp_path / "tiny.pt")
    ds = open_dataset(folder)
    job = InferenceJob(card, ds, batch_size=8)
    progress = list(job.run())
    preds = job.predictions
    assert preds.num_done == 0 and progress[-1].failed == len(ds)
    readable = [i for i, sid in enumerate(ds.sample_ids) if not sid.endswith("broken.png")]
    assert all("not finite" in preds.errors[i] for i in readable)
    assert not np.isfinite(preds.scores[readable]).any()  # nothing was written as a prediction
