"""User-facing errors: the CLI prints their message on one line and exits 2, with no traceback.

Raise these for bad input the user can fix (a wrong key, a missing file, an unknown version id); let genuine bugs
surface as ordinary exceptions.
"""


class TetherError(Exception):
    """A problem with the user's input or environment, stated in one actionable line."""

    exit_code = 2


class ConfigError(TetherError):
    """tether.yaml or another YAML input is invalid."""


class WorkspaceError(TetherError):
    """The workspace is missing, not initialised, or a version/row id does not resolve."""
