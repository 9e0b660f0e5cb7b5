"""core.models is layered without cycles: no import inside a function of core/models reaches another module
of the package, except the networks that load torch; importing the package's top still loads no torch."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "core" / "models"
#: Deferred for start-up time only: these modules import torch at their top.
TORCH_MODULES = {"core.models.smallcnn", "core.models.unet"}


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []


def _deferred_imports(path: Path) -> list[str]:
    """Modules imported inside the functions of ``path``."""
    found = []
    for func in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [name for node in ast.walk(func) for name in _imported(node)]
    return found


def _top_level_imports(path: Path) -> list[str]:
    return [name for node in ast.parse(path.read_text(encoding="utf-8")).body for name in _imported(node)]


def test_no_module_of_core_models_defers_an_import_of_another_but_for_torch():
    deferred = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted(MODELS.rglob("*.py"))
        for name in _deferred_imports(path)
        if name.startswith("core.models") and name not in TORCH_MODULES
    }
    assert not deferred, "imports deferred inside core/models (a cycle to untie by layering):\n" + "\n".join(deferred)


def test_the_networks_allowed_a_deferred_import_really_load_torch():
    for module in TORCH_MODULES:
        path = ROOT / (module.replace(".", "/") + ".py")
        assert any(name == "torch" or name.startswith("torch.") for name in _top_level_imports(path)), module


def test_importing_the_top_of_core_models_loads_no_torch():
    script = (
        "import sys\n"
        "import core.models.loading, core.models.checkpoints, core.models.zoo, core.models.weights\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'onnxruntime', 'safetensors') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_module_of_core_defers_an_import_of_core_but_for_torch():
    """The same rule for all of core: a cycle is untied by layering (pyproject's contracts), never by an
    import hidden in a function (imports under TYPE_CHECKING are annotations, not functions' imports)."""
    deferred = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "core").rglob("*.py"))
        for name in _deferred_imports(path)
        if name.startswith("core.") and name not in TORCH_MODULES
    }
    assert not deferred, "imports of core deferred inside functions:\n" + "\n".join(sorted(deferred))


def test_no_module_of_core_is_over_450_lines():
    """One concern per file (issue 12): a module that outgrows this is split by concern, not left to grow."""
    long = {
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in sorted((ROOT / "core").rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert not long, "\n".join(sorted(long))
