"""API keys: found in the environment or a ``.env`` file, checked before anything is sent,
and kept out of every message msmkit writes (:func:`redact`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from msmkit.errors import PrerequisiteError

REDACTED = "[REDACTED]"
_KEY_PATTERNS = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"sk-[A-Za-z0-9_\-]{16,}"),
    re.compile(
        r"(?i)(x-api-key|authorization|api[_-]?key)(['\"]?\s*[:=]\s*['\"]?)(bearer\s+)?[^\s'\",}]{8,}"
    ),
)
_SECRET_ENV = re.compile(r"(_API_KEY|_AUTH_TOKEN|_SECRET|_TOKEN)$")
_extra_secrets: set[str] = set()
_dotenv_loaded: set[str] = set()


class MissingKeyError(PrerequisiteError):
    """No API key for a provider: raised before any request is sent."""


def load_dotenv_file(path: str | Path | None = None) -> None:
    """Load ``path`` (default: the nearest ``.env`` from the working directory up) into the
    environment once, never overriding variables already set."""
    from dotenv import find_dotenv, load_dotenv

    file = str(path) if path is not None else find_dotenv(usecwd=True)
    if not file or file in _dotenv_loaded:
        return
    load_dotenv(file, override=False)
    _dotenv_loaded.add(file)


def key_env_var(model: str) -> str | None:
    """The environment variable holding the key for an Inspect model name (``None``: the
    provider needs no key, e.g. a local ``vllm/`` server or ``mockllm/``)."""
    parts = model.split("/")
    provider = parts[0]
    if provider == "anthropic":
        return "ANTHROPIC_API_KEY"
    if provider == "openai":
        return "OPENAI_API_KEY"
    if provider in ("openai-api", "openai-api-completions"):
        if len(parts) < 3:
            raise MissingKeyError(
                f"model {model!r}: openai-api models are named openai-api/<service>/<model>"
            )
        return parts[1].upper().replace("-", "_") + "_API_KEY"
    return None


def require_key(model: str, *, dotenv_path: str | Path | None = None) -> str | None:
    """The API key for ``model``, or a :class:`MissingKeyError` naming the variable needed."""
    load_dotenv_file(dotenv_path)
    var = key_env_var(model)
    if var is None:
        return None
    value = os.environ.get(var, "").strip()
    if not value:
        raise MissingKeyError(
            f"no API key for {model}: set {var} in the environment or in a .env file",
            hint=f"export {var}=... (or add {var}=... to .env); nothing was sent",
        )
    register_secret(value)
    return value


def register_secret(value: str) -> None:
    """Make :func:`redact` remove ``value`` wherever it appears."""
    if value and len(value) >= 6:
        _extra_secrets.add(value)


def redact(text: object) -> str:
    """``text`` with every known key (registered, or in a ``*_API_KEY``-like environment
    variable) and anything shaped like a key replaced by ``[REDACTED]``."""
    out = str(text)
    secrets = set(_extra_secrets)
    for name, value in os.environ.items():
        if _SECRET_ENV.search(name) and len(value) >= 6:
            secrets.add(value)
    for secret in sorted(secrets, key=len, reverse=True):
        out = out.replace(secret, REDACTED)
    out = _KEY_PATTERNS[0].sub(REDACTED, out)
    out = _KEY_PATTERNS[1].sub(REDACTED, out)
    return _KEY_PATTERNS[2].sub(lambda m: m.group(1) + m.group(2) + REDACTED, out)
