"""Runner throughput against its parts and against a bare loop, measured in the same run (medians).

ResNet-50 (random weights; timing does not depend on them) at 224 x 224, torchvision's preprocessing
(resize 232, centre crop 224), over a folder of generated 256 x 256 JPEGs:

- decode: every image decoded and preprocessed as the runner's CPU path does it (one process);
  on a GPU also the GPU decoder (nvJPEG through TorchCodec's ``decode_jpeg(device="cuda")``, batched, + preprocessing
  on the GPU);
- JPEG decoding alone, the files' bytes already in memory: the CPU decoder (OpenCV, one thread) against the GPU's
  (batches of nvJPEG), images/s and their ratio; on a machine without CUDA it says so;
- bare loop: the same model over the already decoded tensors, already on the device, same batches
  (on CUDA with the runner's own settings: autocast and channels_last), softmax copied back;
- runner: ``InferenceJob`` from the files to the filled Predictions.

Targets (issue 7): on a CPU, runner time <= 1.1 x (decode time + bare loop time); on a GPU, runner
throughput >= 0.9 x the bare loop's. Run: python benchmarks/bench_runner.py [--images N --device D]
The old measurement on the bundled digits demo stays available with --digits.

--unet measures the segmentation runner the same way: the bundled scenes U-Net's architecture (random
weights) at --unet-side x --unet-side over generated JPEG + PNG mask pairs: CPU decode + normalise alone, the
bare model loop on pre-decoded tensors (softmax and argmax on the device, masks copied back), and
``SegmentationJob`` from the files to the stored masks, probabilities and per-image confusion matrices.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from record import record

from core.datasets import open_dataset
from core.datasets.imageio import decode_image
from core.inference import InferenceJob, run_to_end
from core.inference.devices import pick_device
from core.inference.jpeg import decode_jpegs, pick_jpeg_library
from core.models import cards_for
from core.models.loading import build_model
from core.models.preprocess import preprocess_tensors
from core.models.zoo import zoo_card


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as info:
        cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    return f"{device} ({cpu}, {torch.get_num_threads()} torch threads)"


def make_jpegs(folder: Path, n: int, side: int) -> None:
    """n smooth random JPEGs of side x side pixels (quality 90), as photographs compress."""
    rng = np.random.default_rng(0)
    for i in range(n):
        small = rng.integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8)
        image = cv2.resize(small, (side, side), interpolation=cv2.INTER_CUBIC)
        image = np.clip(image.astype(np.int16) + rng.integers(-12, 12, image.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])


def measure(card, dataset, model, device: str, batch: int, runs: int, workers: int | None) -> dict[str, float]:
    n = len(dataset)
    job = InferenceJob(card, dataset, device=device, batch_size=batch, model=model, num_workers=workers)
    job.prepare()  # the model on the device as the runner runs it (channels_last on CUDA)
    runnable = job._runnable

    def decode():
        return [card.preprocess(dataset.load_image(i)) for i in range(n)]

    layout = torch.channels_last if job.channels_last else torch.contiguous_format
    tensors = torch.from_numpy(np.stack(decode())).to(device).contiguous(memory_format=layout)

    def bare_model():
        with torch.inference_mode(), job._autocast():
            outs = [runnable(tensors[s : s + batch]).float().softmax(1).cpu() for s in range(0, n, batch)]
        sync(device)
        return outs

    def runner():
        run_to_end(InferenceJob(card, dataset, device=device, batch_size=batch, model=model, num_workers=workers))
        sync(device)

    bare_model()
    runner()  # warm-up: cuDNN autotuning, allocator, page cache
    times = {"decode": median_time(decode, runs), "model": median_time(bare_model, runs)}
    times["runner"] = median_time(runner, runs)
    if device.startswith("cuda"):
        times["gpu_decode"] = median_time(lambda: gpu_decode(card, dataset, device, batch), runs)
    return times


def gpu_decode(card, dataset, device: str, batch: int) -> None:
    """Read the files, decode on the GPU in batches and preprocess there, as the runner's GPU path does."""
    paths = [dataset.sample_path(i) for i in range(len(dataset))]
    for s in range(0, len(paths), batch):
        blobs = [torch.from_numpy(np.fromfile(p, dtype=np.uint8)) for p in paths[s : s + batch]]
        preprocess_tensors(card, decode_jpegs(blobs, device))
    sync(device)


def jpeg_decoding(dataset, device: str, batch: int, runs: int) -> None:
    """Print JPEG decoding alone, CPU (OpenCV, as the browser and the CPU path decode) against GPU (nvJPEG)."""
    if not device.startswith("cuda"):
        print("GPU JPEG decoding vs CPU decoding: not measured: no CUDA device")
        return
    files = [dataset.sample_path(i).read_bytes() for i in range(len(dataset))]
    blobs = [torch.frombuffer(bytearray(data), dtype=torch.uint8) for data in files]
    cv2.setNumThreads(1)

    def on_gpu():
        decoded = [decode_jpegs(blobs[s : s + batch], device) for s in range(0, len(blobs), batch)]
        sync(device)
        return decoded

    on_gpu()  # warm-up: the decoder's state, the allocator
    cpu = median_time(lambda: [decode_image(data) for data in files], runs)
    gpu = median_time(on_gpu, runs)
    n, library = len(files), pick_jpeg_library()
    print(f"{'JPEG decoding alone, CPU (OpenCV, 1 thread):':44} {n / cpu:9,.1f} images/s ({cpu * 1e3:,.0f} ms)")
    print(f"{f'JPEG decoding alone, GPU ({library}):':44} {n / gpu:9,.1f} images/s ({gpu * 1e3:,.0f} ms)")
    print(f"GPU JPEG decoding / CPU decoding: {cpu / gpu:.1f}x the images/s")


def report(times: dict[str, float], n: int, device: str) -> float:
    """Print the throughputs and ratios; return the ratio the device's target is on (GPU: runner throughput /
    bare loop throughput; CPU: runner time / (decode + bare loop))."""
    lines = {
        "decode": "decode + preprocess alone (CPU, 1 process)",
        "gpu_decode": "decode + preprocess alone (GPU)",
        "model": "bare model loop (pre-decoded tensors)",
        "runner": "runner (files to Predictions)",
    }
    for key, label in lines.items():
        if key in times:
            print(f"{label + ':':44} {n / times[key]:9,.1f} images/s ({times[key] * 1e3:,.0f} ms)")
    if device.startswith("cuda"):
        throughput = times["model"] / times["runner"]
        verdict = "target met" if throughput >= 0.9 else "MISSED"
        print(f"runner throughput / bare loop throughput: {throughput:.2f} (target >= 0.9): {verdict}")
    ratio = times["runner"] / (times["decode"] + times["model"])
    verdict = "target met" if ratio <= 1.1 else "MISSED"
    print(f"runner time / (decode time + model time): {ratio:.2f} (target <= 1.1 on a CPU): {verdict}")
    return throughput if device.startswith("cuda") else ratio


def record_ratio(key: str, what: str, ratio: float, n: int, device: str, times: dict[str, float], command: str) -> None:
    """The README row of one runner benchmark: on a CPU against decode + bare loop, on a GPU against the bare loop."""
    if device.startswith("cuda"):
        record(f"{key}_gpu", f"{what}, {device_name(device)}",
               f"runner {n / times['runner']:,.0f} images/s = {ratio:.2f} of a bare model loop on pre-decoded tensors "
               f"({n / times['model']:,.0f} images/s)", "≥ 0.9", ratio >= 0.9, f"{command} --device cuda")  # fmt: skip
        return
    record(key, f"{what}, CPU ({n:,} images)", f"runner time / (decode + bare model loop) = {ratio:.2f}", "≤ 1.1",
           ratio <= 1.1, command)  # fmt: skip


def resnet50_benchmark(args) -> None:
    device = pick_device(args.device)
    on_gpu = device.startswith("cuda")
    n = args.images or (256 if on_gpu else 32)
    batch = args.batch_size or (64 if on_gpu else 16)
    card = zoo_card("resnet50", weights=None)  # ImageNet's preprocessing and 1000 classes, random weights
    torch.manual_seed(0)
    model = build_model(card)
    with tempfile.TemporaryDirectory(prefix="cvlens-bench-") as tmp:
        make_jpegs(Path(tmp), n, args.side)
        dataset = open_dataset(tmp)
        print(f"device: {device_name(device)}")
        print(f"ResNet-50 (random weights) at 224 x 224, {n} JPEGs of {args.side} x {args.side}, batch {batch}, "
              f"median of {args.runs} runs")  # fmt: skip
        times = measure(card, dataset, model, device, batch, args.runs, args.workers)
        ratio = report(times, n, device)
        jpeg_decoding(dataset, device, batch, args.runs)
    record_ratio("runner_resnet50", "Runner vs. its parts: ResNet-50, 224×224 JPEGs", ratio, n, device, times,
                 "python benchmarks/bench_runner.py")  # fmt: skip


def digits_benchmark(args) -> None:
    dataset = open_dataset("resources/demo/digits", split="train")
    card = cards_for(dataset.classes, dataset.task)[0]
    device = pick_device(args.device)
    print(f"device: {device_name(device)}\ndigits demo (train split), {len(dataset)} images, model {card.name}")
    times = measure(card, dataset, build_model(card), device, args.batch_size or 64, args.runs, 0)
    ratio = report(times, len(dataset), device)
    record_ratio("runner_digits", "Runner vs. its parts: the digits train split", ratio, len(dataset), device, times,
                 "python benchmarks/bench_runner.py --digits")  # fmt: skip


def make_pairs(folder: Path, n: int, side: int, classes: list[str]) -> None:
    """n JPEG images with PNG masks of blocky classes (images/, masks/, classes.txt: a segmentation-pairs set)."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir()
    (folder / "masks").mkdir()
    (folder / "classes.txt").write_text("".join(f"{name}\n" for name in classes))
    for i in range(n):
        small = rng.integers(0, len(classes), (side // 16, side // 16), dtype=np.uint8)
        mask = cv2.resize(small, (side, side), interpolation=cv2.INTER_NEAREST)
        wide = mask.astype(np.int64)
        image = np.stack([wide * 23 % 256, wide * 71 % 256, wide * 131 % 256], axis=-1).astype(np.uint8)
        image = np.clip(image.astype(np.int16) + rng.integers(-20, 20, image.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / "images" / f"{i:05d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(folder / "masks" / f"{i:05d}.png"), mask)


def unet_benchmark(args) -> None:
    from dataclasses import replace

    from core.inference.segmentation import SegmentationJob
    from core.models import find_card

    device = pick_device(args.device)
    on_gpu = device.startswith("cuda")
    n = args.images or (512 if on_gpu else 32)
    batch = args.batch_size or (32 if on_gpu else 8)
    side = args.unet_side
    base = find_card("scenes-unet")
    card = replace(base, input_size=(side, side), weights=None, sha256=None)
    torch.manual_seed(0)
    model = build_model(card)
    with tempfile.TemporaryDirectory(prefix="cvlens-bench-unet-") as tmp:
        make_pairs(Path(tmp), n, side, card.classes)
        dataset = open_dataset(tmp)
        print(f"device: {device_name(device)}")
        print(f"U-Net ({card.arch_kwargs}, random weights) at {side} x {side}, {n} JPEG + PNG pairs, batch {batch}, "
              f"median of {args.runs} runs")  # fmt: skip

        def decode():
            return [card.preprocess(dataset.load_image(i)) for i in range(n)]

        tensors = torch.from_numpy(np.stack(decode())).to(device)
        net = model.to(device).eval()

        def bare_model():
            with torch.inference_mode():
                outs = [
                    net(tensors[s : s + batch]).float().softmax(1).argmax(1).byte().cpu() for s in range(0, n, batch)
                ]
            sync(device)
            return outs

        def runner():
            with tempfile.TemporaryDirectory(dir=tmp) as run_dir:
                job = SegmentationJob(card, dataset, device=device, batch_size=batch, model=model, run_dir=run_dir,
                                      num_workers=args.workers)  # fmt: skip
                run_to_end(job)
            sync(device)

        bare_model()
        runner()
        times = {"decode": median_time(decode, args.runs), "model": median_time(bare_model, args.runs)}
        times["runner"] = median_time(runner, args.runs)
        if on_gpu:
            times["gpu_decode"] = median_time(lambda: gpu_decode(card, dataset, device, batch), args.runs)
        ratio = report(times, n, device)
        jpeg_decoding(dataset, device, batch, args.runs)
    record_ratio("runner_unet", f"Runner vs. its parts: U-Net at {side}×{side}", ratio, n, device, times,
                 f"python benchmarks/bench_runner.py --unet --unet-side {side}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--images", type=int, default=None, help="default: 256 on a GPU, 32 on a CPU")
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=None, help="default: 64 on a GPU, 16 on a CPU")
    parser.add_argument("--workers", type=int, default=None, help="runner's decoding processes (default: auto)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--digits", action="store_true", help="the bundled digits demo and its SmallCNN instead")
    parser.add_argument("--unet", action="store_true", help="the segmentation runner with a U-Net instead")
    parser.add_argument("--unet-side", type=int, default=256, help="--unet: image and input side (default 256)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        (digits_benchmark if args.digits else unet_benchmark if args.unet else resnet50_benchmark)(args)


if __name__ == "__main__":
    main()
