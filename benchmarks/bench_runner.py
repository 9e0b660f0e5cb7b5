"""Runner throughput against its parts, measured in the same run (median of several).

On a CPU the runner's time must stay within 1.1 x (decode time + bare model time): decoding
every image and preparing it, then a bare torch loop of the same model over the already
decoded tensors in the same batches. On a GPU the target is the runner at >= 0.9 of the bare
loop's throughput (see issue 7). Run: python benchmarks/bench_runner.py [--dataset D --split S]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.datasets import open_dataset  # noqa: E402
from core.inference import InferenceJob, run_to_end  # noqa: E402
from core.models import cards_for  # noqa: E402
from core.models.loading import build_model  # noqa: E402


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="resources/demo/digits")
    parser.add_argument("--split", default="train")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    dataset = open_dataset(args.dataset, split=args.split)
    card = cards_for(dataset.classes, dataset.task)[0]
    model = build_model(card)
    job_device = InferenceJob(card, dataset, device=args.device, model=model).device
    model = model.to(job_device)
    n = len(dataset)

    def decode():
        return [card.preprocess(dataset.load_image(i)) for i in range(n)]

    tensors = torch.from_numpy(np.stack(decode())).to(job_device)

    def bare_model():
        with torch.inference_mode():
            for start in range(0, n, args.batch_size):
                model(tensors[start : start + args.batch_size]).softmax(1).cpu()

    def runner():
        run_to_end(InferenceJob(card, dataset, device=job_device, batch_size=args.batch_size, model=model, num_workers=0))

    bare_model()
    runner()  # warm-up
    t_decode = median_time(decode, args.runs)
    t_model = median_time(bare_model, args.runs)
    t_runner = median_time(runner, args.runs)
    print(f"dataset {dataset.name}/{dataset.split}: {n} images, model {card.name}, device {job_device}, "
          f"batch {args.batch_size}, torch threads {torch.get_num_threads()}")
    print(f"decode + preprocess alone: {n / t_decode:,.0f} images/s ({t_decode * 1000:.0f} ms)")
    print(f"bare model loop:           {n / t_model:,.0f} images/s ({t_model * 1000:.0f} ms)")
    print(f"runner:                    {n / t_runner:,.0f} images/s ({t_runner * 1000:.0f} ms)")
    ratio = t_runner / (t_decode + t_model)
    if job_device.startswith("cuda"):
        ratio_gpu = t_model / t_runner
        print(f"runner throughput / bare loop: {ratio_gpu:.2f} (target >= 0.9): {'target met' if ratio_gpu >= 0.9 else 'MISSED'}")
    print(f"runner time / (decode + model): {ratio:.2f} (target <= 1.1): {'target met' if ratio <= 1.1 else 'MISSED'}")


if __name__ == "__main__":
    main()
