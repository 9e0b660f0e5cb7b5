"""What the About box says: CV Lens's version, the libraries in use and where the user's data lives.

Qt-free; the GUI adds the Qt rows it knows. Reported, not required: a library that is missing or
fails to import is named as such, so the box still opens on a broken install (where it helps most).
"""

from __future__ import annotations

import platform
import re
from importlib import metadata
from pathlib import Path

from core.system.paths import data_dir

PACKAGE = "cvlens"


def app_version() -> str:
    """The installed package's version, else the one pyproject.toml beside the sources names."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        found = re.search(r'^version\s*=\s*"([^"]+)"', _read(pyproject), re.MULTILINE)
        return found.group(1) if found else "unknown"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def torch_rows() -> list[tuple[str, str]]:
    """PyTorch's and torchvision's versions, the CUDA torch was built with and the GPUs it sees."""
    try:
        import torch
    except Exception as exc:  # a broken torch install is what the user may be trying to diagnose
        return [("PyTorch", f"not available ({type(exc).__name__}: {exc})")]
    rows = [("PyTorch", torch.__version__)]
    try:
        import torchvision

        rows.append(("torchvision", torchvision.__version__))
    except Exception:
        rows.append(("torchvision", "not available"))
    rows.append(("CUDA (PyTorch built with)", torch.version.cuda or "none (a CPU build of PyTorch)"))
    if torch.version.cuda:
        count = torch.cuda.device_count()
        names = [torch.cuda.get_device_name(i) for i in range(count)]
        rows.append(("GPUs", ", ".join(names) if names else "none found"))
    return rows


def about_rows(extra: list[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(name, value) rows: CV Lens, Python, the torch rows, ``extra`` (the GUI's Qt rows), the data folder."""
    rows = [("CV Lens", app_version()), ("Python", platform.python_version())]
    rows += torch_rows()
    rows += list(extra)
    rows.append(("Data folder", str(data_dir())))
    return rows
