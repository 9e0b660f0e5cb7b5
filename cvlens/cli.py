"""CV Lens command line: opens the window, or runs a headless evaluation. No logic lives here."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from core.system.resources import ResourcesMissing, bundled, resources_dir

DEMO_DATASET = resources_dir() / "demo" / "digits"
# The command as the user typed it, for the usage lines: `cvlens` installed, `python main.py` in a checkout.
PROG = {"main.py": "python main.py", "__main__.py": "python -m cvlens"}.get(Path(sys.argv[0]).name, "cvlens")

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
        prog=PROG,
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
    parser.add_argument(
        "--size", type=_window_size, default="1500x950", help="window size for --screenshot (default 1500x950)"
    )
    parser.add_argument("--version", action=_Version, help="print CV Lens's version and exit")
    return parser


class _Version(argparse.Action):
    """--version: the installed package's version (a checkout's pyproject.toml's), read only when asked."""

    def __init__(self, option_strings, dest, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from core.system.about import app_version

        print(f"CV Lens {app_version()}")  # on stdout, as argparse's own version action prints
        parser.exit()


def _batch_size(text: str) -> int | str:
    if text == "auto":
        return text
    return _count("the batch size is a positive whole number or 'auto'", 1)(text)


def _count(why: str, least: int):
    """An argparse type: a whole number of at least ``least``; else ``why`` (not argparse's "invalid int value")."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{why}, not {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{why}, not {value}")
        return value

    return parse


def _number(why: str, low: float, high: float = float("inf"), *, low_open: bool = False):
    """An argparse type: a finite number in [low, high] ((low, high] with ``low_open``); else ``why``."""

    def parse(text: str) -> float:
        try:
            value = float(text.replace(",", "."))  # 0,5 typed on a German keyboard is 0.5, as the window reads it
        except ValueError:
            raise argparse.ArgumentTypeError(f"{why}, not {text!r}") from None
        if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
            raise argparse.ArgumentTypeError(f"{why}, not {text}")
        return value

    return parse


#: The sizes --screenshot renders: the window's least (its panes need it) up to 8K.
SCREENSHOT_SIZES = ((960, 600), (7680, 4320))


def _window_size(text: str) -> str:
    """WIDTHxHEIGHT in pixels within SCREENSHOT_SIZES, as "1366x768"."""
    (low_w, low_h), (high_w, high_h) = SCREENSHOT_SIZES
    why = f"the size is WIDTHxHEIGHT in pixels, from {low_w}x{low_h} to {high_w}x{high_h}"
    parts = text.lower().replace("×", "x").split("x")
    try:
        width, height = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{why}, not {text!r}") from None
    if not (low_w <= width <= high_w and low_h <= height <= high_h):
        raise argparse.ArgumentTypeError(f"{why}, not {text}")
    return f"{width}x{height}"


#: The numbers the options take, checked before a model is loaded (a wrong one ended in a traceback after the run).
BETA = _number("beta is a number of at least 0 (1: F1, 2: recall weighed more)", 0.0)
THRESHOLD = _number("the threshold is a number between 0 and 1", 0.0, 1.0)
IOU = _number("the IoU threshold is a number above 0 and at most 1", 0.0, 1.0, low_open=True)
TILE = _count("the tile is a whole number of pixels, at least 32", 32)
WORKERS = _count("the number of decoding processes is a whole number, 0 or more", 0)


def build_evaluate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} evaluate",
        description="Run a model over a dataset headless and write metrics.json, predictions.csv, predictions.npz.",
        epilog="Under torchrun (torchrun --nproc_per_node=N main.py evaluate ...) each process evaluates a share "
        "of the dataset and rank 0 writes the same files a single process writes.",
    )
    parser.add_argument("dataset", help="dataset folder")
    parser.add_argument("--split", help="split to evaluate (default: test, else val)")
    parser.add_argument(
        "--task",
        help="the task to open the dataset for when its files hold several (COCO instances: instance_segmentation, "
        "detection, segmentation; default: the richest)",
    )
    _model_arguments(parser)
    parser.add_argument("--no-amp", action="store_true", help="full float32 on CUDA instead of mixed precision")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model first")
    parser.add_argument(
        "--jpeg-decode", choices=("auto", "opencv", "device"), default="auto",
        help="where JPEGs are decoded: auto (on the GPU when there is one), opencv (CPU workers), device",
    )  # fmt: skip
    parser.add_argument("--beta", type=BETA, default=1.0, help="beta of the F-beta score (default 1)")
    parser.add_argument(
        "--tile", type=TILE, default=None, help="segmentation: run in overlapping tiles of this size (default: resize)"
    )
    parser.add_argument(
        "--threshold",
        type=THRESHOLD,
        default=None,
        help="decision threshold for binary (score of the second class) and multilabel tasks (default: argmax / 0.5); "
        "for detectors the score threshold of the confusion matrix, the error breakdown and the per-image counts "
        "(default: each run's best-F1 score)",
    )
    parser.add_argument(
        "--iou-threshold",
        type=IOU,
        default=0.5,
        help="detection: the IoU at which a detection matches an object in the confusion matrix, the error "
        "breakdown and the per-image counts (default 0.5; mAP itself averages IoU 0.50:0.95 as COCO does)",
    )
    parser.add_argument(
        "--zero-division",
        choices=("0", "nan", "1"),
        default="0",
        help="what an undefined precision, recall or F-score (0/0: a class never predicted, or predicted but never "
        "present) counts as in the macro and weighted averages: 0 (default, as scikit-learn's classification_report "
        "and torchmetrics), nan (left out of the averages) or 1",
    )
    parser.add_argument("--out", default="cvlens-eval", help="output folder (default ./cvlens-eval)")
    parser.add_argument(
        "--embeddings", action="store_true",
        help="also write DIR/embeddings.npy: one float16 row per sample in dataset order (a classifier's last linear "
        "layer's input, a segmenter's pooled bottleneck), captured in the same pass; rows of failed samples are 0",
    )  # fmt: skip
    parser.add_argument(
        "--no-save-run", action="store_true",
        help="do not record the run in the dataset's project (by default the window lists it under Runs)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that pick a model and run it, shared by evaluate and analyze."""
    parser.add_argument(
        "--model",
        help="bundled model name, model card (.json), checkpoint (.pt/.pth state_dict, TorchScript, .safetensors, "
        ".onnx) or torchvision network (resnet50, vgg16, ...) (default: the first bundled model that fits)",
    )
    parser.add_argument("--architecture", help="architecture of a checkpoint when it fits several (smallcnn, resnet50)")
    parser.add_argument("--classes", metavar="FILE", help="class names of a checkpoint, one per line")
    parser.add_argument("--map-classes", action="store_true", help="run a model whose classes overlap the dataset's")
    parser.add_argument("--download", action="store_true", help="download a torchvision network's weights if missing")
    parser.add_argument("--device", default="auto", help="cuda, cuda:N, mps, cpu or auto (default)")
    parser.add_argument("--batch-size", type=_batch_size, default=64, help="images per batch, or auto (default 64)")
    parser.add_argument("--workers", type=WORKERS, default=None, help="decoding processes (default: automatic)")


def build_analyze_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} analyze",
        description="Why the model fails: run a classifier or a segmenter with embeddings over a dataset's splits "
        "and write label_issues.csv, duplicates.csv, outliers.csv, embedding_map.csv, embeddings.npy and "
        "analysis.json. A segmenter's label issues are images whose mask has a suspect region.",
        epilog="The split the model was trained on (--trained-on; the bundled models say so themselves) is scored "
        "by cross-validated logistic regression on the embeddings, the others by the model's own predictions; "
        "a segmenter's masks on that split by its own (in-sample) probabilities, as analysis.json says. "
        "Under torchrun (torchrun --nproc_per_node=N main.py analyze ...) each process runs a share of every split "
        "and rank 0 analyses and writes the same files a single process writes.",
    )
    parser.add_argument("dataset", help="dataset folder")
    parser.add_argument("--split", action="append", help="a split to analyse (repeat it; default: every split)")
    _model_arguments(parser)
    parser.add_argument(
        "--trained-on", metavar="SPLIT", help="the split the model was trained on (default: the card's)"
    )
    parser.add_argument(
        "--map", choices=("auto", "pca", "pacmap", "umap"), default="auto",
        help="how the 2-D map is made (default: PaCMAP where installed, else UMAP, else PCA)",
    )  # fmt: skip
    parser.add_argument("--out", default="cvlens-analysis", help="output folder (default ./cvlens-analysis)")
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


def _evaluate_card(args, dataset, rank):
    """The model card named by --model (downloading torchvision weights with --download), else a bundled fit."""
    from core import tasks
    from core.models import ModelError, bundled_cards, cards_for
    from core.models.checkpoints import AmbiguousArchitecture
    from core.models.loading import resolve_model

    if not args.model:
        # A bundled model made for these classes and this task; else one whose task runs on it (the demo
        # detector on the scenes opened for instance segmentation: its boxes are scored).
        fitting = cards_for(dataset.classes, dataset.task) or [
            card for card in bundled_cards() if tasks.fit(card, dataset).fits
        ]
        if not fitting:
            raise ModelError(f"no bundled model fits {dataset.name} ({dataset.task}); name one with --model")
        return fitting[0]
    if args.download:
        from core.models import zoo

        if zoo.is_zoo_name(args.model) and (rank is None or rank.is_main):
            zoo.download_weights(args.model, progress=None if args.quiet else _download_bar)
        if rank is not None:
            from core.inference.distributed import barrier

            barrier()
    classes = _class_names_file(args.classes) if args.classes else None
    try:
        return resolve_model(args.model, architecture=args.architecture, classes=classes)
    except AmbiguousArchitecture as exc:
        raise ModelError(f"{exc}: name it with --architecture ({', '.join(exc.candidates)})") from None


def _class_names_file(path: str) -> list[str]:
    """The names in a --classes file (one per line), or a ModelError saying why it is not such a file."""
    from core.models import ModelError

    try:
        with open(path, "rb") as handle:
            data = handle.read((1 << 20) + 1)
        if len(data) > 1 << 20 or b"\0" in data:
            raise ValueError("it is not a text file of class names")
        names = [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise ModelError(f"--classes {path} cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:  # UnicodeDecodeError included
        reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise ModelError(f"--classes {path}: {reason} (one class name per line)") from None
    if not names:
        raise ModelError(f"--classes {path} names no classes (one class name per line)")
    return names


def _check_out(out: str) -> None:
    """--out must be a folder CV Lens can write into: said before the run, not after it."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OSError(f"--out {out} is a file, not a folder: name a folder for metrics.json and the predictions")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from None


def _download_bar(done: int, total: int) -> None:
    share = f"{100 * done / total:.0f}%" if total else f"{done >> 20} MiB"
    sys.stderr.write(f"\rdownloading weights: {share}   ")
    sys.stderr.flush()


def _segmentation_batch(batch_size) -> int:
    return 8 if batch_size in (None, "auto") else int(batch_size)


def _evaluate_job(args, dataset, device: str, rank):
    """The model's card and the job of the model's task (``core.tasks``) on ``dataset``, the model loaded."""
    from core import tasks
    from core.models import ModelError

    card = _evaluate_card(args, dataset, rank)
    task = tasks.of(card)
    if task.per_pixel and rank is not None:
        raise ModelError("segmentation runs on one process; run `evaluate` without torchrun")
    class_map = _class_map(args, card, dataset)
    batch_size = _segmentation_batch(args.batch_size) if task.per_pixel else args.batch_size
    job = tasks.job_for(
        card, dataset, class_map=class_map, device=device, batch_size=batch_size, num_workers=args.workers,
        tile=args.tile, run_dir=Path(args.out) / "masks", amp=not args.no_amp, compile=args.compile,
        jpeg_decode=args.jpeg_decode, embeddings=args.embeddings, embeddings_path=Path(args.out) / "embeddings.npy",
    )  # fmt: skip
    job.prepare()  # missing weights, a file that is code: said now, not after the first batch
    return card, job


def _save_run(args, dataset, card, predictions, embeddings=None) -> None:
    """Record the finished run (with its ``embeddings`` when it computed them) in the dataset's project, where
    the window lists it under Runs (rank 0 only). Its settings name the output folder and the digest of its files,
    so that ``import-run`` of that folder later finds this run instead of recording it again."""
    from core import tasks
    from core.labels import StoreError
    from core.labels.project import record_run
    from core.labels.run_import import evaluate_identity

    weights = card.weights_path if card.weights_path is not None and card.weights_path.is_file() else None
    settings = {**(getattr(predictions, "settings", None) or {}), "card": card.name, "batch_size": args.batch_size}
    settings.update(device_asked=args.device, command="evaluate")
    try:
        settings.update(evaluate_identity(args.out, tasks.of(predictions).name))  # the outputs are written by now
        info = {"weights": weights, "settings": settings, "name": card.display_name, "embeddings": embeddings}
        run, folder = record_run(dataset, predictions, **info)
    except (StoreError, OSError) as exc:
        print(f"note: the run was not saved in the dataset's project: {exc}", file=sys.stderr)
        return
    kept = " with its embeddings" if run.has_embeddings else ""
    where = f"in the project at {folder} (the window lists it under Runs)"
    print(f"saved the run as #{run.id}{kept} {where}", file=sys.stderr)


def _print_counts(summary: dict, seconds: float) -> None:
    """How many samples were scored, and every one that was not, with its reason (first ten of each)."""
    mask_errors = summary.get("mask_errors", [])
    unscored = f", {len(mask_errors)} without a readable true mask" if mask_errors else ""
    print(
        f"{summary['evaluated']} of {summary['samples']} samples evaluated in {seconds:.1f}s, "
        f"{summary['failed']} failed{unscored}",
        file=sys.stderr,
    )
    for kind, entries in (("failed", summary["failures"]), ("no true mask", mask_errors)):
        for entry in entries[:10]:
            print(f"  {kind}: {entry['sample_id']}: {entry['error']}", file=sys.stderr)
        if len(entries) > 10:
            print(f"  ... and {len(entries) - 10} more (all listed in metrics.json)", file=sys.stderr)
    if summary.get("labeled") is False:
        print("the dataset has no labels: nothing to score; the predictions are written", file=sys.stderr)


def _refused(rank, error: str | None) -> bool:
    """Whether any rank failed to start (each rank learns it under torchrun, so none waits for the others);
    rank 0 says why. True: every rank stops here."""
    from core.inference import distributed

    if rank is not None:
        error = distributed.agree(rank, error)
    if error:
        if rank is None or rank.is_main:
            print(f"error: {error}", file=sys.stderr)
        distributed.stop()
    return bool(error)


def evaluate(argv: list[str]) -> int:
    args = build_evaluate_parser().parse_args(argv)
    from core import tasks
    from core.datasets import BOX_TASKS, DatasetError
    from core.inference import distributed
    from core.models import ModelError

    rank, device, error = None, args.device, None
    try:
        if distributed.launched_by_torchrun():
            rank, device = distributed.start(args.device)
        dataset = distributed.open_dataset(rank, args.dataset, split=args.split, task=args.task)  # listed once
        if rank is None or rank.is_main:  # after the open, which every rank must reach (rank 0 lists for all)
            _check_out(args.out)
        card, job = _evaluate_job(args, dataset, device, rank)
    except (DatasetError, ModelError, OSError) as exc:
        error = str(exc)
    if _refused(rank, error):
        return 2
    main_rank = rank is None or rank.is_main
    show = _progress_bar if main_rank and not args.quiet else None
    if main_rank:
        where = f"{job.device} x {rank.world_size} processes" if rank else job.device
        print(f"{dataset!r}\nmodel: {card.display_name} on {where}", file=sys.stderr)
    start = time.perf_counter()
    interrupted, failed = False, None
    try:
        if rank is not None:
            distributed.run_shard(job, rank, show)
        else:
            for progress in job.run():
                if show:
                    show(progress)
    except KeyboardInterrupt:
        interrupted = True
    except ModelError as exc:  # the predictions up to the last good batch are kept and written
        failed = exc
    distributed.stop()
    if not main_rank:
        return 0
    if show:
        sys.stderr.write("\n")
    for note in getattr(job, "notes", []):
        print(f"note: {note}", file=sys.stderr)
    if tasks.of(job.predictions).name in BOX_TASKS:
        options = {"iou_threshold": args.iou_threshold, "score_threshold": args.threshold}
    else:
        options = {"beta": args.beta, "threshold": args.threshold, "zero_division": args.zero_division}
    summary = tasks.of(job.predictions).write_evaluation(dataset, job.predictions, args.out, **options)
    seconds = time.perf_counter() - start
    _print_counts(summary, seconds)
    if summary.get("mean_iou") is not None:
        print(f"mean IoU {summary['mean_iou']:.4f}  mean Dice {summary['mean_dice']:.4f}")
    if isinstance(summary.get("map"), (int, float)) and summary["map"] >= 0:
        print(f"mAP {summary['map']:.4f}  mAP@0.5 {summary['map_50']:.4f}  mAP@0.75 {summary['map_75']:.4f}")
    if (summary.get("localization") or {}).get("correct") is not None:
        print(f"localized (class right and IoU >= 0.5) {summary['localization']['correct']:.4f}")
    if summary.get("accuracy") is not None:
        print(f"accuracy {summary['accuracy']:.4f}  macro F{args.beta:g} {summary['macro']['fbeta'] or 0:.4f}")
    written = list(tasks.of(job.predictions).outputs)
    if getattr(job, "embeddings", None) is not None:
        written.append(f"{job.embeddings_path.name} ({job.embeddings.shape[0]} x {job.embeddings.shape[1]} float16)")
    print(f"wrote {Path(args.out) / 'metrics.json'}, {', '.join(written)}")
    if args.embeddings and getattr(job, "embeddings", None) is None:
        print("note: no embeddings.npy: the run did not end (it is written for complete runs only)", file=sys.stderr)
    if failed is None and not interrupted and not args.no_save_run:
        _save_run(args, dataset, card, job.predictions, getattr(job, "embeddings", None))
    if failed is not None:
        print(f"error: {failed}\nthe outputs hold the samples done before the error", file=sys.stderr)
        return 2
    if interrupted:
        print("interrupted: the outputs hold the samples done so far", file=sys.stderr)
        return 130
    return 0


def _class_map(args, card, dataset) -> dict[str, str] | None:
    """The class map a run needs: None when the model's classes are the dataset's, the names they share under
    --map-classes; a ModelError saying the way out when the classes are named differently and it is not given."""
    from core import tasks
    from core.models import ModelError

    fit = tasks.fit(card, dataset)
    if not fit.needs_class_map:
        return None
    if not (args.map_classes and fit.suggestion):
        how = "--map-classes maps those named alike" if fit.suggestion else "no class name is in both"
        raise ModelError(f"{fit.reason} ({how})")
    return dict(fit.suggestion)


def _analysis_runs(args, first, card, task, splits, rank, device: str):
    """Each split's run with embeddings (sharded over the ranks under torchrun); rank 0 gets them, others []."""
    import tempfile

    from core import tasks
    from core.analysis.collect import run_split
    from core.inference import distributed

    show = _progress_bar if (rank is None or rank.is_main) and not args.quiet else None
    batch_size = _segmentation_batch(args.batch_size) if task.per_pixel else args.batch_size
    runs = []
    for split in splits:
        dataset = first if split == first.split else distributed.open_dataset(rank, first.root, split, first.task)
        if rank is None or rank.is_main:
            print(f"{dataset!r}: {card.display_name}", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="cvlens-analyze-") as scratch:  # masks, embeddings: gone after
            job = tasks.job_for(
                card, dataset, class_map=_class_map(args, card, dataset), device=device, batch_size=batch_size,
                num_workers=args.workers, embeddings=True, embeddings_path=Path(scratch) / "embeddings.npy",
                run_dir=Path(scratch) / "run",
            )  # fmt: skip
            job.prepare()
            runs.append(run_split(job, split, per_pixel=task.per_pixel, rank=rank, show=show))
        if show:
            sys.stderr.write("\n")
    return [run for run in runs if run is not None]


def analyze(argv: list[str]) -> int:
    """``python main.py analyze``: see build_analyze_parser; 0 when the files are written, 2 on an error.
    Under torchrun every rank runs its share of each split; rank 0 analyses and writes the files."""
    args = build_analyze_parser().parse_args(argv)
    from core import tasks
    from core.analysis import Cancelled
    from core.analysis.collect import analysis_input
    from core.analysis.report import write_reports
    from core.analysis.session import analyze as find
    from core.datasets import DatasetError
    from core.inference import distributed
    from core.models import ModelError, trained_split

    rank, device, error = None, args.device, None
    try:
        if distributed.launched_by_torchrun():
            rank, device = distributed.start(args.device)
        first = distributed.open_dataset(rank, args.dataset)  # listed once; every rank must reach it
        if rank is None or rank.is_main:
            _check_out(args.out)
        splits = args.split or list(first.splits) or [first.split]
        unknown = [s for s in splits if s not in first.splits]
        if unknown:
            raise DatasetError(f"{first.name} has no split {unknown[0]!r}; it has {first.splits}")
        card = _evaluate_card(args, first, rank)
        task = tasks.for_run(card, first)
        trained = trained_split(card, first, args.trained_on)
    except (DatasetError, ModelError, OSError) as exc:
        error = str(exc)
    if _refused(rank, error):
        return 2
    main_rank = rank is None or rank.is_main
    try:
        runs = _analysis_runs(args, first, card, task, splits, rank, device)
        distributed.stop()
        if not main_rank:
            return 0
        inp = analysis_input(runs, task, trained)
        source = "" if trained is None else f" (trained on {trained})"
        print(f"analysing {int(inp.predicted.sum()):,} samples{source}…", file=sys.stderr)
        report = find(inp, map_method=args.map)
    except (DatasetError, ModelError, OSError, ValueError) as exc:
        distributed.stop()
        if main_rank:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Cancelled):
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    facts = {"dataset": str(first.root), "model": card.name, "task": task.name, "trained_on": trained}
    written = write_reports(args.out, inp, report, **facts)
    print(
        f"{report.issue_count} label issues ({report.source}), {len(report.duplicates)} duplicate pairs "
        f"({int(report.duplicates.leak.sum())} across splits), map by {report.map_method}",
        file=sys.stderr,
    )
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def build_import_run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py import-run",
        description="Record a run made elsewhere (a cluster's `evaluate --out DIR`) in the dataset's project, where "
        "the window lists it under Runs. Its sample ids must be those of the dataset's split here.",
    )
    parser.add_argument("dataset", help="dataset folder (this machine's copy of the data the run was made on)")
    parser.add_argument("folder", help="the folder `evaluate --out` wrote (metrics.json and the predictions)")
    parser.add_argument("--split", help="split to check the run against (default: the split the run records)")
    parser.add_argument("--task", help="the task to open the dataset for when its files hold several")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="when a folder of this name was imported before and its files have changed since, replace that run "
        "(default: keep it, and record this one beside it under a new name)",
    )
    return parser


def import_run(argv: list[str]) -> int:
    """``python main.py import-run DATASET DIR``: 0 when the run is recorded or was already (the same files),
    2 when it is not (and why)."""
    args = build_import_run_parser().parse_args(argv)
    from core.datasets import DatasetError, open_dataset
    from core.labels import StoreError, open_project
    from core.labels.run_import import AlreadyImported, RunImportError, check, earlier_import, read_run_folder
    from core.labels.run_import import import_run as keep
    from core.labels.run_import import recorded_how as how

    try:
        run = read_run_folder(args.folder)
        dataset = open_dataset(args.dataset, split=args.split or run.split, task=args.task)
        check(run, dataset)
        project = open_project(dataset)
        try:
            earlier = earlier_import(project, run)
            saved = keep(project, run, replace=args.replace)
            folder = project.store.folder
        finally:
            project.store.close()
    except AlreadyImported as exc:
        print(f"{exc}: nothing recorded")
        return 0
    except (RunImportError, DatasetError, StoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if earlier is not None:
        then = f"changed since it was {how(earlier.run)} as #{earlier.run.id} {earlier.run.name}"
        now = "replaced it" if args.replace else f"kept that one, recorded this one as {saved.name} (--replace " \
            "replaces it instead)"  # fmt: skip
        print(f"the run in {args.folder} {then}: {now}")
    print(f"imported {args.folder} as run #{saved.id} ({saved.headline or saved.name}) in the project at {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "evaluate":
        return evaluate(argv[1:])
    if argv and argv[0] == "analyze":
        return analyze(argv[1:])
    if argv and argv[0] == "import-run":
        return import_run(argv[1:])
    args = build_parser().parse_args(argv)
    dataset = args.dataset or _demo_dataset(args.screenshot)
    if dataset is None and args.screenshot:
        return 2
    from gui.app import run_app

    return run_app(
        dataset=dataset,
        split=args.split,
        model=args.model,
        screenshot=args.screenshot,
        size=args.size,
    )


def _demo_dataset(screenshot: str | None) -> str | None:
    """The bundled digits demo, opened when no dataset is named; None (having said why) when it is not
    installed: the window then opens empty, --screenshot has nothing to show."""
    try:
        return str(bundled("demo", "digits"))
    except ResourcesMissing as exc:
        what = "error" if screenshot else "note"
        after = "name a dataset folder to screenshot" if screenshot else "the window opens empty (File > Open)"
        print(f"{what}: {exc}; {after}", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
