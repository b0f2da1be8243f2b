"""Settings from the environment and one configuration file (see ``.env.example``).

Each concern has its own settings class in this package, read from the environment variables
of its fields' names: ``storage`` (data folder, database, retention), ``locale`` (time zone,
language, log level), ``conversations`` (flood control, invitations), ``reminders``, ``web``
(webhook mode), ``downloads`` (links to the files Zalo cannot receive), and one per platform
(``telegram``, ``zalo``), from which its adapter is built.
:class:`Settings` composes them all and is what the command line reads.

The file is never looked for in the current folder: a file planted where the command happens
to run must not redirect the bot (its Bot API address, its database). It is, in this order:
the ``--env-file`` option, the ``PGIBOT_ENV_FILE`` variable, or ``pgibot.env`` in the data
folder (``PGIBOT_DATA_DIR`` from the environment, else the project's ``data`` folder). The
environment wins over the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from bot.config.common import DEFAULT_DATA_DIR, SECTION_CONFIG
from bot.config.conversations import ConversationSettings
from bot.config.downloads import DownloadSettings
from bot.config.locale import LocaleSettings
from bot.config.reminders import ReminderSettings
from bot.config.storage import StorageSettings
from bot.config.telegram import TELEGRAM_API_BASE_URL, TELEGRAM_API_FILE_URL, TelegramSettings
from bot.config.web import WebSettings
from bot.config.zalo import ZALO_API_BASE_URL, ZaloSettings
from bot.core.validation import reason

ENV_FILE_NAME = "pgibot.env"
OFFICIAL_URLS = {
    "TELEGRAM_API_BASE_URL": TELEGRAM_API_BASE_URL,
    "TELEGRAM_API_FILE_URL": TELEGRAM_API_FILE_URL,
    "ZALO_API_BASE_URL": ZALO_API_BASE_URL,
}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(  # fields in the reverse order of the bases: storage first
    DownloadSettings,
    WebSettings,
    ConversationSettings,
    ReminderSettings,
    ZaloSettings,
    TelegramSettings,
    LocaleSettings,
    StorageSettings,
):
    """Every setting of the bot, each group of its own concern; names are the variables."""

    model_config = SECTION_CONFIG

    def unofficial_urls(self) -> dict[str, str]:
        """Return the Bot API and Zalo addresses that are not the platforms' own servers."""
        given = {
            "TELEGRAM_API_BASE_URL": self.telegram_api_base_url,
            "TELEGRAM_API_FILE_URL": self.telegram_api_file_url,
            "ZALO_API_BASE_URL": self.zalo_api_base_url,
        }
        return {name: url for name, url in given.items() if url != OFFICIAL_URLS[name]}


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
