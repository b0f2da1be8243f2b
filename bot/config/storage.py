"""Where the bot keeps its data: the database, the data folder, how long rows are kept, backups."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config.common import DEFAULT_DATA_DIR, SECTION_CONFIG
from bot.core.i18n import _


class StorageSettings(BaseSettings):
    """``PGIBOT_DATA_DIR``, ``DATABASE_URL``, file downloads, retention and the daily backup."""

    model_config = SECTION_CONFIG

    pgibot_data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    pgibot_download_timeout: float = Field(default=120.0, ge=5, le=3600)
    """Seconds a file a user sends may take to download, in all."""
    pgibot_inbox_retention_days: int = Field(default=30, ge=7, le=3650)
    pgibot_audit_retention_days: int = Field(default=730, ge=30, le=3650)
    pgibot_backup_dir: Path | None = None
    """Where the daily backups go; None: ``backups`` in the data folder."""
    pgibot_backup_keep: int = Field(default=7, ge=0, le=3650)
    """How many daily backups are kept; 0: no daily backup."""
    pgibot_backup_hour: int = Field(default=1, ge=0, le=23)

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_database_url(value)

    @property
    def backup_dir(self) -> Path:
        """Return the folder of the daily backups."""
        return self.pgibot_backup_dir or self.pgibot_data_dir / "backups"

    @property
    def database(self) -> str:
        """Return the database URL, a SQLite file in the data folder by default."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.pgibot_data_dir / 'pgibot.sqlite3').resolve()}"


def check_database_url(value: str) -> str:
    """Return a database URL the bot can use; raise ValueError saying what to write."""
    try:
        url = make_url(value)
    except ArgumentError as error:
        raise ValueError(_("not a database URL")) from error
    if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError(_("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://..."))
    return value
