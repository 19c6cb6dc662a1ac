"""Errors the pipeline reports to people.

Every failure a user can cause or fix surfaces as one of these, with a message that
says what is wrong, where, and what to do. Foreign exceptions (yaml, gensim, jieba,
OS) are wrapped at the boundary and kept as ``__cause__``.

    PipelineError            anything the CLI prints as ``Error: ...`` (exit status 2)
    ├── ConfigError          the YAML file or a --set override is invalid
    ├── InputError           an input path is missing, empty, binary or malformed
    ├── DataError            the data cannot support the analysis asked for
    └── StoreError           the run folder cannot be read or written
"""

from __future__ import annotations


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
