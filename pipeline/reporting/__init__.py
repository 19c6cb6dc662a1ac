"""Summaries of a trained run (pure functions) and their renderers; no training code."""
