"""What every group of settings shares: how they are read, and the checks of an address."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from bot.core.i18n import _

SECTION_CONFIG = SettingsConfigDict(
    env_file=None,
    env_file_encoding="utf-8",
    extra="ignore",
    case_sensitive=False,
    env_ignore_empty=True,
)
"""Each field is read from the environment variable of its name, upper-cased."""

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_DIR / "data"
"""The project's own data folder, wherever the command runs (not ``./data``)."""


def http_url(value: str | None) -> str | None:
    """Return an http(s) address unchanged; raise ValueError saying what to write."""
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError(_("must start with http:// or https://"))
    return value
