"""The plan's time zone, the bot's language and the log level."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings

from bot.config.common import SECTION_CONFIG
from bot.core.i18n import _


class LocaleSettings(BaseSettings):
    """``PGIBOT_TIMEZONE``, ``PGIBOT_LANGUAGE`` and ``PGIBOT_LOG_LEVEL``."""

    model_config = SECTION_CONFIG

    pgibot_timezone: str = "Asia/Ho_Chi_Minh"
    pgibot_language: Literal["vi"] = "vi"
    pgibot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The level of ``pgibot run``; the other commands show warnings and errors only."""

    @field_validator("pgibot_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(_("unknown time zone %(zone)s") % {"zone": value}) from error
        return value

    @property
    def timezone(self) -> ZoneInfo:
        """Return the plan's time zone."""
        return ZoneInfo(self.pgibot_timezone)
