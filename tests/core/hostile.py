"""Helpers for hostile-input tests: run a snippet in a subprocess under a memory cap."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The issue's bound: every hostile input ends within seconds and under 2 GB.
MEMORY_CAP = 2 << 30

_PRELUDE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
"""


def run_capped(code: str, *, cap: int = MEMORY_CAP, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python whose address space is capped at ``cap`` bytes.

    The cap is on virtual memory, so it stops a huge allocation before it is made; the
    process's peak resident size is then printed by the caller if it needs it. It runs in the
    repository root, where ``python -c`` imports ``core`` from.
    """
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    script = _PRELUDE.format(cap=cap) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
