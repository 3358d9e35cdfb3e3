"""The `curate` command line: one module per command group, each command a thin wrapper that parses its options,
calls the library and prints. Importing this package registers every command on `cli`."""
from curation.cli import data, review, runs, serve, tables  # noqa: F401  (registers the commands)
from curation.cli.app import CLI_FIXES, cli, cli_message, main

__all__ = ["CLI_FIXES", "cli", "cli_message", "main"]
