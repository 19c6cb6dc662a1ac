"""Errors the pipeline reports to people.

Every failure a user can cause or fix surfaces as one of these, with a message that
says what is wrong, where, and what to do. Foreign exceptions (yaml, gensim, jieba,
OS) are wrapped at the boundary and kept as ``__cause__``.

    PipelineError            anything the CLI prints as ``Error: ...`` (exit status 2);
    │                        a foreign exception that reaches the CLI or the runner
    │                        becomes one, described by ``unexpected``
    ├── ConfigError          the YAML file or a --set override is invalid
    ├── InputError           an input path is missing, empty, binary or malformed
    ├── DataError            the data cannot support the analysis asked for
    └── StoreError           the run folder cannot be read or written
"""

from __future__ import annotations

import errno


class PipelineError(Exception):
    """Base class: the message is shown to the user as one line."""

    exit_code = 2


class ConfigError(PipelineError):
    """The configuration file or an override is invalid."""


class InputError(PipelineError):
    """An input file or folder cannot be used."""


class DataError(PipelineError):
    """The corpus cannot support the requested analysis (e.g. too few units)."""


class StoreError(PipelineError):
    """The run folder cannot be read or written."""


def unexpected(exc: BaseException, where: str = "") -> str:
    """A foreign exception as one line: where, what, and what to do."""
    if isinstance(exc, OSError):
        place = str(exc.filename) if exc.filename else where
        reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        return (
            f"{place + ': ' if place else ''}cannot read or write ({reason}); "
            "check the path, its permissions and free space"
        )
    what = (str(exc).splitlines() or [""])[0] or type(exc).__name__
    return (
        f"{where + ': ' if where else ''}{type(exc).__name__}: {what} "
        "(unexpected; run again with --verbose for the traceback, and report it if the cause is not yours)"
    )
