"""One label edit in the project store, and the label arrays, at 100,000 samples; against their floors.

An edit is one SQLite transaction with ``synchronous=FULL``: its floor, measured in the same run beside
the store, is a one-row transaction on a bare SQLite file with the same pragmas (the fsync that makes the
edit survive a power cut). The arrays (``targets``, ``edited``, ``status``) come back as numpy arrays: their
floor is copying one array of 100,000 labels. The measurement is shared with tests/core/test_labels_perf.py
(its loose bounds are the targets here).
Run: python benchmarks/bench_label_store.py [--samples 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a plain script: core and tests

from record import record

from tests.core.test_labels_support import label_store_timings

EDIT_TARGET_S, ARRAYS_TARGET_S = 0.025, 0.050  # the bounds tests/core/test_labels_perf.py asserts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_label_store_") as tmp:
        t = label_store_timings(Path(tmp), args.samples)
    n, edit, floor = t["n"], t["edit"], t["fsync_floor"]
    slowest = max(t["arrays"], key=t["arrays"].get)
    arrays = t["arrays"][slowest]
    print(f"{n:,} samples: open {t['opened'] * 1e3:.0f} ms, reopen with {n // 10:,} edits {t['reopened'] * 1e3:.0f} ms")
    print(f"  batch edit of {n // 10:,} samples {t['batch'] * 1e3:.0f} ms, undo {t['undo'] * 1e3:.1f} ms")
    print(
        f"  one edit: median {edit * 1e3:.2f} ms of {len(t['edits_all'])}, max {max(t['edits_all']) * 1e3:.1f} ms; "
        f"floor, a bare SQLite transaction (WAL, synchronous=FULL): {floor * 1e3:.2f} ms ({edit / floor:.2f}x)"
    )
    print(
        "  arrays: "
        + ", ".join(f"{k}() {v * 1e3:.3f} ms" for k, v in t["arrays"].items())
        + f"; floor, copying one array of {n:,} labels: {t['copy_floor'] * 1e3:.3f} ms"
    )
    met = edit < EDIT_TARGET_S and arrays < ARRAYS_TARGET_S
    print(f"targets < {EDIT_TARGET_S * 1e3:.0f} ms / < {ARRAYS_TARGET_S * 1e3:.0f} ms: {'met' if met else 'MISSED'}")
    record(
        "label_store",
        f"One label edit in the project store (a transaction, synchronous=FULL) / edited-label arrays for {n:,} "
        "samples",
        f"{edit * 1e3:.1f} ms (median of {len(t['edits_all'])}, max {max(t['edits_all']) * 1e3:.0f} ms), "
        f"{edit / floor:.1f}× a bare SQLite transaction with the same pragmas ({floor * 1e3:.1f} ms) / "
        f"{arrays * 1e3:.2f} ms ({slowest}(), the slowest), {arrays / t['copy_floor']:.1f}× copying one array",
        f"< {EDIT_TARGET_S * 1e3:.0f} ms / < {ARRAYS_TARGET_S * 1e3:.0f} ms",
        met,
        "python benchmarks/bench_label_store.py",
    )


if __name__ == "__main__":
    main()
