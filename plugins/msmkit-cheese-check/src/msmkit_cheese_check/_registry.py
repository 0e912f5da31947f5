"""Inspect entry point: ``inspect eval msmkit_cheese_check/cheese_preferences``."""

# ruff: noqa: F401

from msmkit_cheese_check.task import cheese_preferences
