"""The terminals every command prints to: `console` (stdout) and `err_console` (stderr, for the one-line errors)."""

from __future__ import annotations

from rich.console import Console

console = Console()
if not console.is_terminal:
    console.width = max(console.width, 150)  # piped or CI output: do not squeeze tables into 80 columns
err_console = Console(stderr=True)
