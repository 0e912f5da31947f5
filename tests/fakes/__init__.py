"""Fake provider servers for offline tests of msmkit.llm."""

from .server import FakeLLMServer, default_key

__all__ = ["FakeLLMServer", "default_key"]
