"""When reminders go out, and when a late agency is escalated."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from bot.config.common import SECTION_CONFIG
from bot.core.i18n import _


class ReminderSettings(BaseSettings):
    """``PGIBOT_REMINDER_*``, ``PGIBOT_QUIET_HOUR``, ``PGIBOT_ESCALATE_LEADER_FROM``, digests.

    ``PGIBOT_EXPLANATION_DAYS``: working days an agency has to answer an explanation request;
    ``PGIBOT_EXPLANATION_REMINDERS``: reminders of one left unanswered, a working day apart.
    ``PGIBOT_EXTENSION_DAYS``: working days the coordinator has to answer a deadline extension
    request before it is reminded (once a working day, ``PGIBOT_EXTENSION_REMINDERS`` times).
    """

    model_config = SECTION_CONFIG

    pgibot_reminder_days_before: str = "7,3,1,0"
    pgibot_reminder_late_days: int = Field(default=10, ge=0, le=60)
    pgibot_reminder_hour: int = Field(default=8, ge=5, le=20)
    pgibot_quiet_hour: int = Field(default=21, ge=6, le=23)
    pgibot_escalate_leader_from: int = Field(default=1, ge=0, le=60)
    pgibot_digest_late_from: int = Field(default=3, ge=0, le=60)
    pgibot_snooze_hour: int = Field(default=15, ge=5, le=22)
    pgibot_snooze_days: int = Field(default=2, ge=1, le=10)
    pgibot_explanation_days: int = Field(default=3, ge=1, le=30)
    pgibot_explanation_reminders: int = Field(default=3, ge=0, le=20)
    pgibot_extension_days: int = Field(default=2, ge=1, le=30)
    pgibot_extension_reminders: int = Field(default=3, ge=0, le=20)

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
