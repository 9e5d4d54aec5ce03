"""The package and benchmarks/ use Keras's and TensorFlow's public API only: a Keras release may rename a private name
without notice, and whatever relied on it (resuming a run, say) would break silently."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import keras
import nbformat
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("mnist_ann", "benchmarks", "tests")
SOURCES = sorted([path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")] + [ROOT / "conftest.py"])
NOTEBOOK = ROOT / "notebooks" / "MNIST-NN.ipynb"
FRAMEWORKS = ("keras", "tensorflow", "tf")
PROJECT = ("mnist_ann", "benchmarks", "conftest", "browser")  # modules whose private names are the project's own
# argparse has no public way to list a parser's options and subcommands; the --help test reads these, which the
# standard library has kept for twenty years. They are not Keras's or TensorFlow's.
ARGPARSE = {"_actions", "_subparsers", "_group_actions"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def defined_here(trees: list[ast.AST]) -> set[str]:
    """Every name the project's own code defines: functions, classes, arguments, variables, and the attributes it
    sets on its own objects (`self.x = ...`; `self.model._x = ...` sets one on somebody else's)."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
    return names


def _root(node: ast.AST) -> ast.AST:
    """The start of an attribute chain: `a` in `a.b.c`, a call in `f().b`."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def _project_aliases(tree: ast.AST) -> set[str]:
    """The names under which `tree` imports the project's own modules (`mnist_ann`, `from mnist_ann import epochs`)."""
    names = {"self", "cls"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] in PROJECT}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PROJECT:
            names |= {a.asname or a.name for a in node.names}
    return names


def private_uses(tree: ast.AST, ours: set[str]) -> list[str]:
    """Private names of other code that `tree` reads, writes or imports: `x._name` where the project defines no
    `_name`, or where it does but `x` is not the project's (`optimizer._variables`, say: the project has a
    `_variables` of its own, Keras's optimizer another); `getattr(x, "_name")`; `keras.src` and `tf.python` in an
    attribute chain; and imports of `_private` names or of keras.src / tensorflow.python."""
    found = []
    project = _project_aliases(tree)
    for node in ast.walk(tree):
        root = _root(node)
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in ARGPARSE:
            if node.attr not in ours or not (isinstance(root, ast.Name) and root.id in project):
                found.append(f"line {node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in (("keras", "src"), ("tf", "python"), ("tensorflow", "python"))
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in FRAMEWORKS and (parts[1:2] in (["src"], ["python"]) or any(map(_private, parts))):
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "setattr", "hasattr"):
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and _private(name.value):
                found.append(f"line {node.lineno}: {node.func.id}(..., {name.value!r})")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FRAMEWORKS:
            module = node.module or ""
            if ".src" in module or module.startswith("tensorflow.python") or any(map(_private, module.split("."))):
                found.append(f"line {node.lineno}: from {module} import ...")
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if _private(a.name)]
    return found


def private_overrides(module) -> list[str]:
    """Methods with a private name that a class of `module` defines over a Keras or TensorFlow base class's."""
    found = []
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module.__name__:
            continue
        bases = [base for base in cls.__mro__[1:] if base.__module__.split(".")[0] in ("keras", "tensorflow")]
        for name in vars(cls):
            if _private(name) and any(hasattr(base, name) for base in bases):
                found.append(f"{cls.__name__}.{name} overrides {bases[0].__name__}.{name}")
    return found


def _trees() -> dict[Path, ast.AST]:
    trees = {path: ast.parse(path.read_text(), str(path)) for path in SOURCES}
    cells = [cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells if cell.cell_type == "code"]
    trees[NOTEBOOK] = ast.parse("\n\n".join(cells), str(NOTEBOOK))
    return trees


def test_no_private_keras_or_tensorflow_name_is_used():
    trees = _trees()
    for path in ("mnist_ann/app/callbacks.py", "benchmarks/bench.py", "tests/test_runs.py", "notebooks/MNIST-NN.ipynb"):
        assert ROOT / path in trees
    ours = defined_here(list(trees.values()))
    assert {"_batch", "_lock", "_warp"} <= ours  # the project's own private names are its to use
    found = {str(path.relative_to(ROOT)): uses for path, tree in trees.items() if (uses := private_uses(tree, ours))}
    assert found == {}


def test_no_private_keras_or_tensorflow_method_is_overridden():
    modules = [".".join(path.relative_to(ROOT).with_suffix("").parts) for path in SOURCES if "tests" not in path.parts]
    modules = [name for name in modules if name != "conftest"]
    modules = [name.removesuffix(".__init__") for name in modules if not name.endswith("__main__")]
    found = [override for name in modules for override in private_overrides(importlib.import_module(name))]
    assert found == []


OLD_BACKUP = """
class SafeBackup(keras.callbacks.BackupAndRestore):
    def _save_model(self):
        final = folder / snapshot_name(self._current_epoch)

    def _load(self, snapshot):
        self.model._initial_epoch = epoch
"""


def test_the_scan_finds_what_the_old_backup_did():
    """The backup this project had before: it read and wrote Keras's private names, and overrode one."""
    tree = ast.parse(OLD_BACKUP)
    found = private_uses(tree, defined_here([tree]))
    assert sorted(found) == ["line 4: ._current_epoch", "line 7: ._initial_epoch"]
    namespace = {"keras": keras, "folder": None, "snapshot_name": None}
    module = type(tf)("old_backup")
    exec(compile(OLD_BACKUP, "old_backup", "exec"), module.__dict__ | namespace, module.__dict__)  # noqa: S102
    assert private_overrides(module) == ["SafeBackup._save_model overrides BackupAndRestore._save_model"]
    assert private_uses(ast.parse("from keras.src.trainers import epoch_iterator"), set()) == [
        "line 1: from keras.src.trainers import ..."
    ]


def test_the_scan_finds_keras_src_however_it_is_reached_and_private_names_the_project_shares():
    source = "import keras.src.trainers\nx = keras.src.utils\nimport mnist_ann\nv = optimizer._variables\n"
    source += "mnist_ann.callbacks._variables(model)\nself._variables = 1\n"
    tree = ast.parse(source)
    assert sorted(private_uses(tree, defined_here([tree]))) == [
        "line 1: import keras.src.trainers",
        "line 2: keras.src",
        "line 4: ._variables",
    ]
