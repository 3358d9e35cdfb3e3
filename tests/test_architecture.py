"""The rules of docs/architecture.md that the code must keep, read from the source (ast): who may import click
and the video/JPEG codecs, that training and inference are separate classes, and that a task's predictions are
scored in one place."""
import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "curation"


@functools.cache
def _parsed() -> tuple:
    return tuple((path.relative_to(PACKAGE), ast.parse(path.read_text())) for path in sorted(PACKAGE.rglob("*.py")))


def _modules():
    """(path relative to curation/, its syntax tree) of every module, parsed once for all the tests here."""
    yield from _parsed()


def _imports(tree) -> set[str]:
    """Top-level module names imported anywhere in the file (inside functions too)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def _importers(module: str) -> set[str]:
    return {str(rel) for rel, tree in _modules() if module in _imports(tree)}


def test_only_the_command_line_imports_click():
    outside = {m for m in _importers("click") if not m.startswith("cli/")}
    assert not outside, outside


def test_only_the_frames_package_opens_videos_and_jpegs():
    # synth.py writes the generator's videos (PyAV's encoder); it reads nothing
    assert {m for m in _importers("av") if not m.startswith("frames/")} == {"synth.py"}
    assert {m for m in _importers("simplejpeg") if not m.startswith("frames/")} == set()


def test_frames_is_a_lower_layer_than_ingest_training_and_review():
    for rel, tree in _modules():
        if rel.parts[0] == "frames":
            used = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
            assert not {m for m in used if m.split(".")[1:2] and m.split(".")[1] in
                        ("ingest", "data", "train", "review", "dashboard", "cli")}, (rel, used)


def test_no_training_class_also_predicts():
    """An optimizer and inference code never share a class (inference builds no optimizer)."""
    for rel, tree in _modules():
        if rel.parts[0] != "train":
            continue
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            fields = {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
            fields |= {n.attr for n in ast.walk(cls) if isinstance(n, ast.Attribute)
                       and isinstance(n.value, ast.Name) and n.value.id == "self" and isinstance(n.ctx, ast.Store)}
            methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
            assert not ("optimizer" in fields and "predict" in methods), f"{rel}: {cls.name}"


def test_a_tasks_predictions_are_scored_in_one_place():
    callers = {}
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("competition_map", "classification_metrics"):
                    callers.setdefault(name, set()).add(str(rel))
    assert callers == {"competition_map": {"task.py"}, "classification_metrics": {"task.py"}}


def test_interchange_formats_are_written_without_their_consumers_libraries():
    # datasets and fiftyone read what interop/ writes (tests, scripts/check_fiftyone_export.py); curate itself
    # writes with pyarrow and json, so neither is a dependency of users who export
    assert _importers("datasets") | _importers("fiftyone") == set()


def _layers() -> dict[str, int]:
    """docs/architecture.md's layers: path (a file, or a folder standing for its files) → layer number."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    block = text.split("## Layers", 1)[1].split("```", 2)[1]
    layers = {}
    for line in block.strip().splitlines():
        number, *words = line.split()
        for word in words:
            if word.endswith(".py") or (PACKAGE / word).is_dir():
                layers[word] = int(number)
    return layers


def _layer_of(path: str, layers: dict[str, int]) -> int | None:
    """The layer of a module file (relative to curation/): its own entry, else its nearest listed folder's."""
    parts = path.split("/")
    for k in range(len(parts), 0, -1):
        key = "/".join(parts[:k])
        if key in layers:
            return layers[key]
    return None


def _module_file(dotted: str) -> str | None:
    """curation.a.b → a/b.py or a/b/__init__.py (the longest prefix that is a module)."""
    parts = dotted.split(".")[1:]
    for k in range(len(parts), 0, -1):
        for candidate in ("/".join(parts[:k]) + ".py", "/".join(parts[:k]) + "/__init__.py"):
            if (PACKAGE / candidate).is_file():
                return candidate
    return None


def upward_imports(layers: dict[str, int]) -> list[str]:
    """Every import of a module from a higher layer, and every module in no layer, as readable lines."""
    found = []
    for rel, tree in _modules():
        here = _layer_of(str(rel), layers)
        if here is None:
            found.append(f"{rel}: in no layer of docs/architecture.md")
            continue
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                target = _module_file(name) if name.startswith("curation.") else None
                there = _layer_of(target, layers) if target else None
                if there is not None and there > here:
                    found.append(f"{rel} (layer {here}) imports {name} (layer {there})")
    return found


def test_imports_flow_down_the_layers_of_the_architecture():
    layers = _layers()
    assert len(layers) > 20 and max(layers.values()) == 9
    assert upward_imports(layers) == []


def test_the_layer_check_catches_an_upward_import():
    layers = _layers()
    assert _layer_of("task.py", layers) < _layer_of("train/loop.py", layers)
    lowered = {**layers, "train": _layer_of("task.py", layers) - 1}  # training moved below the task it imports
    assert any(line.startswith("train/") and "imports curation.task" in line for line in upward_imports(lowered))
    unlisted = {k: v for k, v in layers.items() if k != "sweep.py"}
    assert "sweep.py: in no layer of docs/architecture.md" in upward_imports(unlisted)
