"""What capturing embeddings costs a forward pass (issue 13's aim: under 10% more than predictions alone).

For each model, the forward pass with and without ``EmbeddingCapture`` (the input of the last Linear,
float16, copied to the CPU), interleaved so that a load spike on the machine hits both; the best of
several repeats per round, the median ratio over rounds. Random weights: timing does not depend on them.

Then the whole job, as a user runs it: ``InferenceJob`` over the digits demo's test split with and without
``embeddings=True`` (decoding, forward, scores, the rows written into the memory-mapped store and the file put
in place), runs interleaved; the median of the per-round ratios and the ratio of the best runs (the machine's
load only ever adds time, so the best runs are the least disturbed).
Run: python benchmarks/bench_embeddings.py [--rounds N] [--job-rounds N] [--device D]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from record import record

from core import tasks
from core.datasets import open_dataset
from core.inference import run_to_end
from core.inference.embeddings import EmbeddingCapture
from core.models.cards import RESOURCES
from core.models.loading import build_model, resolve_model

CASES = (("resnet18", 16, 112), ("resnet50", 8, 224), ("digits-cnn", 256, 32))


def best_of(run, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(name: str, batch: int, side: int, rounds: int) -> tuple[float, float, float]:
    if name == "digits-cnn":
        model, channels = build_model(resolve_model(name)), 1
    else:
        model, channels = torchvision.models.get_model(name, weights=None).eval(), 3
    x = torch.randn(batch, channels, side, side)
    ratios, plain_ms, hooked_ms = [], [], []
    with torch.inference_mode():
        model(x)  # warm up
        for _ in range(rounds):
            plain = best_of(lambda: model(x))
            with EmbeddingCapture(model) as capture:
                hooked = best_of(lambda: (model(x), capture.take()))
            ratios.append(hooked / plain)
            plain_ms.append(plain * 1e3)
            hooked_ms.append(hooked * 1e3)
    return statistics.median(plain_ms), statistics.median(hooked_ms), statistics.median(ratios)


def time_job(dataset, card, device: str, folder: Path | None) -> float:
    """Seconds of one whole run of ``card`` over ``dataset``; with embeddings into ``folder`` when given."""
    options = {"embeddings": True, "embeddings_path": folder / "embeddings.npy"} if folder is not None else {}
    job = tasks.job_for(card, dataset, device=device, **options)
    start = time.perf_counter()
    run_to_end(job)
    seconds = time.perf_counter() - start
    if folder is not None:
        assert job.embeddings.shape == (len(dataset), 64) and job.predictions.done.all()
    return seconds


def measure_job(rounds: int, device: str) -> tuple[int, list[float], list[float]]:
    """(samples, seconds without, seconds with embeddings per round) on the digits demo's test split."""
    dataset = open_dataset(RESOURCES / "demo" / "digits", split="test")
    card = resolve_model("digits-cnn")
    time_job(dataset, card, device, None)  # warm up: imports, the first model built
    plain, with_rows = [], []
    with tempfile.TemporaryDirectory(prefix="cvlens-bench-") as tmp:
        for round_ in range(rounds):
            plain.append(time_job(dataset, card, device, None))
            with_rows.append(time_job(dataset, card, device, Path(tmp) / str(round_)))
    return len(dataset), plain, with_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--job-rounds", type=int, default=7)
    parser.add_argument("--device", default="cpu", help="device of the job-level case (default cpu)")
    args = parser.parse_args()
    print(f"{'model':<12} {'batch':>5} {'side':>5} {'forward ms':>11} {'+capture ms':>12} {'ratio':>6}")
    ratios = {}
    for name, batch, side in CASES:
        plain, hooked, ratio = measure(name, batch, side, args.rounds)
        ratios[name] = ratio
        flag = "" if ratio <= 1.10 else "  (over the 1.10 aim)"
        print(f"{name:<12} {batch:>5} {side:>5} {plain:>11.1f} {hooked:>12.1f} {ratio:>6.3f}{flag}")
    samples, plain, with_rows = measure_job(args.job_rounds, args.device)
    paired = statistics.median(b / a for a, b in zip(plain, with_rows))
    best = min(with_rows) / min(plain)
    flag = "" if max(paired, best) <= 1.10 else "  (over the 1.10 aim)"
    print(f"\nwhole job, digits demo ({samples} images) on {args.device}, {args.job_rounds} runs each, interleaved:")
    print(f"  predictions only: median {statistics.median(plain) * 1e3:.0f} ms, best {min(plain) * 1e3:.0f} ms")
    print(f"  with embeddings:  median {statistics.median(with_rows) * 1e3:.0f} ms, best {min(with_rows) * 1e3:.0f} ms")
    print(f"  ratio: median of the rounds' {paired:.3f}, of the best runs {best:.3f}{flag}")
    if args.device != "cpu":
        print(f"--device {args.device}: not recorded in benchmarks/results.json (the README's row is the CPU's)")
        return
    names = {"resnet18": "ResNet-18", "resnet50": "ResNet-50", "digits-cnn": "digits CNN"}
    forward = ", ".join(f"{(r - 1) * 100:+.0f} % ({names[n]})" for n, r in ratios.items())
    record(
        "embeddings",
        "Embeddings taken with the predictions, CPU",
        f"forward pass: {forward} over the same forward pass alone; whole job ({samples} digits): "
        f"{(paired - 1) * 100:+.0f} % over predictions alone in the same run",
        "< +10 %",
        max(*ratios.values(), paired) <= 1.10,
        "python benchmarks/bench_embeddings.py",
    )


if __name__ == "__main__":
    main()
