"""The `tether` command line: parse arguments, call the library, render the result.

`root` builds the Typer app from the command modules (one per concept: `workspace`, `seeds`, `generate`,
`filters`, `measure`, `mix`, `train`, `run`); `render/` draws their results with rich. Nothing below the CLI
imports it."""

from tether.cli.root import app, main

__all__ = ["app", "main"]
