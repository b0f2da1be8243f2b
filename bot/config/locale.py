"""The plan's time zone, the bot's language, the log level and the day figures are counted from."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings

from bot.config.common import SECTION_CONFIG
from bot.core.i18n import _


class LocaleSettings(BaseSettings):
    """``PGIBOT_TIMEZONE``, ``PGIBOT_LANGUAGE``, ``PGIBOT_LOG_LEVEL``, ``PGIBOT_PERIOD_START``.

    ``PGIBOT_PERIOD_START`` (``dd/mm``, 15/12 by default): the first day of the yearly figures,
    in the year before; they run to the day before it (14/12). Quarters and half years start
    on the same day of their months (``bot.core.domain.periods``).
    """

    model_config = SECTION_CONFIG

    pgibot_timezone: str = "Asia/Ho_Chi_Minh"
    pgibot_language: Literal["vi"] = "vi"
    pgibot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The level of ``pgibot run``; the other commands show warnings and errors only."""
    pgibot_period_start: str = "15/12"

    @field_validator("pgibot_period_start")
    @classmethod
    def _day_of_year(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{2})/(\d{2})", value.strip())
        try:
            if not match:
                raise ValueError(value)
            date(2023, int(match.group(2)), int(match.group(1)))
        except ValueError as error:
            raise ValueError(
                _("write a day that exists every year as dd/mm, e.g. 15/12")
            ) from error
        return value.strip()

    @property
    def period_start(self) -> tuple[int, int]:
        """Return (month, day) the yearly figures start on."""
        day, month = self.pgibot_period_start.split("/")
        return int(month), int(day)

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
