"""Settings from the environment and one configuration file (see ``.env.example``).

The file is never looked for in the current folder: a file planted where the command happens
to run must not redirect the bot (its Bot API address, its database). It is, in this order:
the ``--env-file`` option, the ``PGIBOT_ENV_FILE`` variable, or ``pgibot.env`` in the data
folder (``PGIBOT_DATA_DIR`` from the environment, else the project's ``data`` folder). The
environment wins over the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.core.i18n import _
from bot.core.validation import reason

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
TELEGRAM_API_FILE_URL = "https://api.telegram.org/file/bot"
ZALO_API_BASE_URL = "https://bot-api.zaloplatforms.com/bot"
OFFICIAL_URLS = {
    "TELEGRAM_API_BASE_URL": TELEGRAM_API_BASE_URL,
    "TELEGRAM_API_FILE_URL": TELEGRAM_API_FILE_URL,
    "ZALO_API_BASE_URL": ZALO_API_BASE_URL,
}
PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = PROJECT_DIR / "data"
"""The project's own data folder, wherever the command runs (not ``./data``)."""
ENV_FILE_NAME = "pgibot.env"

WebhookSecret = Annotated[SecretStr, Field(min_length=8, max_length=256)]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Every setting of the bot; names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=None,
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    pgibot_data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    pgibot_timezone: str = "Asia/Ho_Chi_Minh"
    pgibot_language: Literal["vi"] = "vi"
    pgibot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The level of ``pgibot run``; the other commands show warnings and errors only."""

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = TELEGRAM_API_BASE_URL
    telegram_api_file_url: str = TELEGRAM_API_FILE_URL
    telegram_bot_username: str | None = None

    zalo_bot_token: SecretStr | None = None
    zalo_api_base_url: str = ZALO_API_BASE_URL
    zalo_download_hosts: str | None = None
    """Comma-separated hosts users' Zalo photos may come from (with subdomains); None: Zalo's."""

    pgibot_reminder_days_before: str = "7,3,1,0"
    pgibot_reminder_late_days: int = Field(default=10, ge=0, le=60)
    pgibot_reminder_hour: int = Field(default=8, ge=5, le=20)
    pgibot_quiet_hour: int = Field(default=21, ge=6, le=23)
    pgibot_escalate_leader_from: int = Field(default=1, ge=0, le=60)
    pgibot_digest_late_from: int = Field(default=3, ge=0, le=60)
    pgibot_send_rate: float = Field(default=25.0, gt=0, le=30)
    pgibot_chat_interval: float = Field(default=1.0, ge=0, le=60)
    pgibot_zalo_send_rate: float = Field(default=10.0, gt=0, le=30)
    pgibot_zalo_chat_interval: float = Field(default=1.0, ge=0, le=60)

    pgibot_download_timeout: float = Field(default=120.0, ge=5, le=3600)
    pgibot_inbox_retention_days: int = Field(default=30, ge=7, le=3650)
    pgibot_audit_retention_days: int = Field(default=730, ge=30, le=3650)

    pgibot_flood_burst: int = Field(default=12, ge=1, le=1000)
    pgibot_flood_rate: float = Field(default=1.0, gt=0, le=100)
    pgibot_invitation_days: int = Field(default=7, ge=1, le=365)
    pgibot_webhook_url: str | None = None
    pgibot_webhook_listen: str = "127.0.0.1"
    pgibot_webhook_port: int = Field(default=8080, ge=1, le=65535)
    telegram_webhook_secret: WebhookSecret | None = None
    zalo_webhook_secret: WebhookSecret | None = None

    @field_validator("pgibot_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(_("unknown time zone %(zone)s") % {"zone": value}) from error
        return value

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_database_url(value)

    @field_validator(
        "telegram_api_base_url", "telegram_api_file_url", "zalo_api_base_url", "pgibot_webhook_url"
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(_("must start with http:// or https://"))
        return value

    @field_validator("pgibot_reminder_days_before")
    @classmethod
    def _days_list(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts or not all(p.isdigit() and int(p) <= 60 for p in parts):
            raise ValueError(_("write whole numbers of days separated by commas, e.g. 7,3,1,0"))
        return value

    @property
    def reminder_days_before(self) -> tuple[int, ...]:
        """Return the days before a deadline on which reminders go out."""
        return tuple(
            sorted(
                {int(p) for p in self.pgibot_reminder_days_before.split(",") if p.strip()},
                reverse=True,
            )
        )

    @property
    def database(self) -> str:
        """Return the database URL, a SQLite file in the data folder by default."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.pgibot_data_dir / 'pgibot.sqlite3').resolve()}"

    def unofficial_urls(self) -> dict[str, str]:
        """Return the Bot API and Zalo addresses that are not the platforms' own servers."""
        given = {
            "TELEGRAM_API_BASE_URL": self.telegram_api_base_url,
            "TELEGRAM_API_FILE_URL": self.telegram_api_file_url,
            "ZALO_API_BASE_URL": self.zalo_api_base_url,
        }
        return {name: url for name, url in given.items() if url != OFFICIAL_URLS[name]}

    @property
    def timezone(self) -> ZoneInfo:
        """Return the plan's time zone."""
        return ZoneInfo(self.pgibot_timezone)


def check_database_url(value: str) -> str:
    """Return a database URL the bot can use; raise ValueError saying what to write."""
    try:
        url = make_url(value)
    except ArgumentError as error:
        raise ValueError(_("not a database URL")) from error
    if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError(_("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://..."))
    return value


def default_env_file() -> Path:
    """Return the configuration file to read when no ``--env-file`` is given."""
    named = os.environ.get("PGIBOT_ENV_FILE", "").strip()
    if named:
        return Path(named).expanduser()
    data_dir = os.environ.get("PGIBOT_DATA_DIR", "").strip()
    return (Path(data_dir).expanduser() if data_dir else DEFAULT_DATA_DIR) / ENV_FILE_NAME


def load_settings(env_file: Path | None = None) -> Settings:
    """Read the environment and ``env_file``; raise SettingsError naming the first bad variable."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "?"
        raise SettingsError(f"{variable}: {reason(first['type'], str(first['msg']))}") from None
