"""CV Lens command line: opens the window, or runs a headless evaluation. No logic lives here."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

DEMO_DATASET = Path(__file__).resolve().parent / "resources" / "demo" / "digits"

EPILOG = """\
headless evaluation:
  python main.py evaluate DATASET [--split S] [--model M] [--device D] [--batch-size N] [--out DIR]
      runs a model over a dataset without a window and writes DIR/metrics.json
      (task, classes, confusion matrix, per-class metrics, averages), DIR/predictions.csv
      and DIR/predictions.npz. See `python main.py evaluate --help`.

examples:
  python main.py                                   the bundled digits demo with its model
  python main.py ~/data/cifar-10-batches-py        a CIFAR-10 download, where it lies
  python main.py resources/demo/faces --screenshot faces.png
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="CV Lens: browse computer-vision datasets, run models on them, see where they fail.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", nargs="?", help="dataset folder to open (default: the bundled digits demo)")
    parser.add_argument("--split", help="split to open (default: test, else val)")
    parser.add_argument("--model", help="bundled model name or path of a model card (.json) to select")
    parser.add_argument(
        "--screenshot",
        metavar="PNG",
        help="open the dataset, run the selected model, render the window to PNG and exit",
    )
    parser.add_argument("--size", default="1500x950", help="window size for --screenshot (default 1500x950)")
    return parser


def build_evaluate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py evaluate",
        description="Run a model over a dataset headless and write metrics.json, predictions.csv, predictions.npz.",
    )
    parser.add_argument("dataset", help="dataset folder")
    parser.add_argument("--split", help="split to evaluate (default: test, else val)")
    parser.add_argument("--model", help="bundled model name or model card path (default: the first that fits)")
    parser.add_argument("--device", default="auto", help="cuda, cuda:N, mps, cpu or auto (default)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: automatic)")
    parser.add_argument("--beta", type=float, default=1.0, help="beta of the F-beta score (default 1)")
    parser.add_argument("--out", default="cvlens-eval", help="output folder (default ./cvlens-eval)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _progress_bar(progress) -> None:
    width = 30
    filled = int(width * progress.fraction)
    eta = "" if progress.eta == float("inf") else f", {progress.eta:.0f}s left"
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {progress.done}/{progress.total} "
        f"{progress.images_per_s:.0f} img/s on {progress.device}{eta}   "
    )
    sys.stderr.flush()


def evaluate(argv: list[str]) -> int:
    args = build_evaluate_parser().parse_args(argv)
    from core.datasets import DatasetError, open_dataset
    from core.evaluation import write_evaluation
    from core.models import ModelError, cards_for, find_card

    try:
        dataset = open_dataset(args.dataset, split=args.split)
        if args.model:
            card = find_card(args.model)
        else:
            fitting = cards_for(dataset.classes, dataset.task)
            if not fitting:
                raise ModelError(f"no bundled model fits {dataset.name} ({dataset.task}); name one with --model")
            card = fitting[0]
        from core.inference import InferenceJob

        job = InferenceJob(card, dataset, device=args.device, batch_size=args.batch_size, num_workers=args.workers)
    except (DatasetError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{dataset!r}\nmodel: {card.display_name} on {job.device}", file=sys.stderr)
    start = time.perf_counter()
    interrupted = False
    try:
        for progress in job.run():
            if not args.quiet:
                _progress_bar(progress)
    except KeyboardInterrupt:
        interrupted = True
    except ModelError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        sys.stderr.write("\n")
    summary = write_evaluation(dataset, job.predictions, args.out, beta=args.beta)
    seconds = time.perf_counter() - start
    print(f"{summary['evaluated']} samples evaluated in {seconds:.1f}s, {summary['failed']} failed", file=sys.stderr)
    for failure in summary["failures"][:10]:
        print(f"  failed: {failure['sample_id']}: {failure['error']}", file=sys.stderr)
    if "accuracy" in summary:
        print(f"accuracy {summary['accuracy']:.4f}  macro F{args.beta:g} {summary['macro']['fbeta']:.4f}")
    print(f"wrote {Path(args.out) / 'metrics.json'}, predictions.csv, predictions.npz")
    if interrupted:
        print("interrupted: the outputs hold the samples done so far", file=sys.stderr)
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "evaluate":
        return evaluate(argv[1:])
    args = build_parser().parse_args(argv)
    from gui.app import run_app

    return run_app(
        dataset=args.dataset or str(DEMO_DATASET),
        split=args.split,
        model=args.model,
        screenshot=args.screenshot,
        size=args.size,
    )


if __name__ == "__main__":
    sys.exit(main())
