"""pipeline: topic modeling for Chinese text, from raw files to a report, in stages."""

__version__ = "0.1.0"
