"""docker-compose.yml: the services, ports and shared volume are there, and every command exists."""
import ast
from pathlib import Path

import click
import yaml

from curation.cli import cli

ROOT = Path(__file__).parents[1]


def _curate_command_exists(args: list[str]) -> None:
    """Walk our click tree: every subcommand and option named in `args` must exist."""
    assert args[0] == "curate"
    command, ctx_params = cli, []
    for arg in args[1:]:
        if arg.startswith("--"):
            names = {o for p in command.params for o in p.opts}
            assert arg in names, f"{arg} is not an option of {command.name}"
        elif isinstance(command, click.Group) and arg in command.commands:
            command = command.commands[arg]
            ctx_params.append(arg)
    assert ctx_params, "no subcommand"


def _tlc_service_options() -> set[str]:
    """The options of `3lc service`, read from the installed sources (importing tlc needs a key)."""
    import importlib.util

    spec = importlib.util.find_spec("tlccli")
    source = Path(spec.origin).parent / "service" / "__init__.py"
    options = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "option":
            options |= {a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("--")}
    return options


def test_compose_services_ports_volumes_and_commands():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"tlc-service", "trainer"} <= set(services)
    service, trainer = services["tlc-service"], services["trainer"]
    assert service["command"][:2] == ["3lc", "service"] and "5015:5015" in service["ports"]
    assert {"--host", "--port"} <= _tlc_service_options()
    assert service["command"][service["command"].index("--host") + 1] == "0.0.0.0"
    _curate_command_exists(trainer["command"])
    assert trainer["command"][-2:] == ["--table", "latest"]
    shared = {v.split(":")[0] for v in service["volumes"]} & {v.split(":")[0] for v in trainer["volumes"]}
    assert shared and shared <= set(compose["volumes"])
    assert trainer["environment"]["TLC_PROJECT_ROOT_URL"] == service["environment"]["TLC_PROJECT_ROOT_URL"]
    assert "TLC_API_KEY" in trainer["environment"] and trainer["environment"]["CURATE_BACKEND"] == "3lc"
    gpu = trainer["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --locked" in dockerfile and "COPY curation" in dockerfile


def test_compose_checker_rejects_a_command_we_do_not_have():
    import pytest

    with pytest.raises(AssertionError):
        _curate_command_exists(["curate", "train", "--tabel", "latest"])
