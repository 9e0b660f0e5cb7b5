"""Peak memory of opening a large COCO instances file, as a multiple of the file's size.

Target (issue 3): a 1 GB file is read without tripling memory. The file here is ~100 MB of
polygons with 120 coordinates each (real COCO's are of that kind). The floor, measured in the same
run in a fresh process: a plain json.load of the same file, its peak growth as a multiple of the file.
Run: python benchmarks/bench_coco_memory.py
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 3.0  # times the file's size


def write(folder: Path, n_images: int = 4000, per_image: int = 8) -> Path:
    random.seed(0)
    images = [{"id": i, "file_name": f"{i:012d}.jpg", "height": 480, "width": 640} for i in range(n_images)]
    annotations = [
        {
            "id": k,
            "image_id": k // per_image,
            "category_id": 1 + k % 3,
            "iscrowd": 0,
            "segmentation": [[round(random.uniform(0, 600), 2) for _ in range(120)] for _ in range(3)],
        }
        for k in range(n_images * per_image)
    ]
    categories = [{"id": c, "name": f"class{c}", "supercategory": "x"} for c in (1, 2, 3)]
    path = folder / "annotations" / "instances_val.json"
    path.parent.mkdir(parents=True)
    (folder / "val").mkdir()
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def peak_growth(work) -> int:
    """Bytes by which ``work()`` raised this process's peak resident memory."""
    import resource

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    work()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base


def json_load_growth(path: Path) -> int:
    """The floor: a plain json.load of ``path`` in a fresh process (the peak is a high-water mark)."""
    out = subprocess.run([sys.executable, __file__, "--json-load", str(path)], check=True, capture_output=True)
    return int(out.stdout)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from record import record

    from core.datasets import open_dataset  # imported before the measurement starts

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "coco"
        # written by another process: ru_maxrss is a high-water mark, and building the file here would set it
        subprocess.run([sys.executable, __file__, "--write", str(folder)], check=True)
        path = folder / "annotations" / "instances_val.json"
        size = path.stat().st_size
        opened = []
        grown = peak_growth(lambda: opened.append(open_dataset(folder, split="val")))
        floor = json_load_growth(path)
        print(f"file {size / 1e6:.0f} MB, {len(opened[0]):,} images")
        print(f"open_dataset: peak memory growth {grown / 1e6:.0f} MB = {grown / size:.1f}x the file")
        print(f"floor, a plain json.load: {floor / 1e6:.0f} MB = {floor / size:.1f}x the file ({grown / floor:.2f}x)")
        print(f"target < {TARGET:g}x the file: {'target met' if grown < TARGET * size else 'MISSED'}")
    record(
        "coco_memory",
        f"Peak memory opening a COCO file of {size / 1e6:.0f} MB (polygons)",
        f"{grown / size:.1f}× the file; a plain `json.load` grew it by {floor / size:.1f}× in the same run "
        f"({grown / floor:.2f}× the floor)",
        f"< {TARGET:g}× the file",
        grown < TARGET * size,
        "python benchmarks/bench_coco_memory.py",
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write(Path(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--json-load":
        with open(sys.argv[2], "rb") as handle:
            print(peak_growth(lambda: json.load(handle)))
    else:
        main()
