"""The lastmile error hierarchy.

Every error carries one message that says what is wrong, where (file, township, order id) and what
to do. The command line prints that message alone (no traceback unless ``--debug``) and exits
non-zero.
"""

from __future__ import annotations


class LastmileError(Exception):
    """Base class of every error lastmile raises on purpose.

    Parameters
    ----------
    message
        What is wrong and where.
    hint
        What the user can do about it; appended to the message.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} — {hint}" if hint else message)


class InputError(LastmileError):
    """A file, config value, CLI option or API argument is wrong (missing, unreadable, bad)."""


class DataError(LastmileError):
    """Input data is readable but does not make sense (empty graph, unmatched township, no CRS)."""


class OutputError(InputError):
    """An output or cache file cannot be written (folder not writable or a file, disk full)."""


class InfeasibleError(LastmileError):
    """The request cannot be satisfied (p too large, capacities below demand, nothing reachable)."""

    exit_code = 3


class LastmileWarning(UserWarning):
    """Something went wrong beside the result, which is complete (an old output folder that
    could not be deleted); the command line prints it as ``lastmile: warning: ...``."""
