"""Errors that are the user's to fix: the CLI prints their message, never a traceback."""

from __future__ import annotations


class DdxError(Exception):
    """A problem with input, settings or data that the person running ddx can fix.

    The message must say what is wrong and what to do about it; front ends print it as is.
    """


class MissingDataError(DdxError):
    """A data file the command needs is not in the data directory."""


class DataFormatError(DdxError):
    """A data file exists but does not have the expected format."""


class SettingsError(DdxError):
    """A setting (argument, environment variable or default) is invalid."""
