"""Errors that reach the user: a Chinese message, never a traceback."""
from __future__ import annotations


class DocgenError(Exception):
    """An error with a message meant for the clerk (Chinese)."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UsageError(DocgenError):
    exit_code = 2
