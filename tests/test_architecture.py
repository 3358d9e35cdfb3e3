"""The rules of docs/architecture.md that the code must keep, read from the source (ast): who may import click
and the video/JPEG codecs, that training and inference are separate classes, and that a task's predictions are
scored in one place."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "curation"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE), ast.parse(path.read_text())


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
