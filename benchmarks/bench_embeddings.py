"""What capturing embeddings costs a forward pass (issue 13's aim: under 10% more than predictions alone).

For each model, the forward pass with and without ``EmbeddingCapture`` (the input of the last Linear,
float16, copied to the CPU), interleaved so that a load spike on the machine hits both; the best of
several repeats per round, the median ratio over rounds. Random weights: timing does not depend on them.
Run: python benchmarks/bench_embeddings.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

from core.inference.embeddings import EmbeddingCapture
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'model':<12} {'batch':>5} {'side':>5} {'forward ms':>11} {'+capture ms':>12} {'ratio':>6}")
    for name, batch, side in CASES:
        plain, hooked, ratio = measure(name, batch, side, args.rounds)
        flag = "" if ratio <= 1.10 else "  (over the 1.10 aim)"
        print(f"{name:<12} {batch:>5} {side:>5} {plain:>11.1f} {hooked:>12.1f} {ratio:>6.3f}{flag}")


if __name__ == "__main__":
    main()
