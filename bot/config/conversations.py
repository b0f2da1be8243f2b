"""What the conversations allow: how fast a user may write, how long an invitation lasts."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from bot.config.common import SECTION_CONFIG


class ConversationSettings(BaseSettings):
    """``PGIBOT_FLOOD_BURST``, ``PGIBOT_FLOOD_RATE``, ``PGIBOT_INVITATION_DAYS``, leader review."""

    model_config = SECTION_CONFIG

    pgibot_flood_burst: int = Field(default=12, ge=1, le=1000)
    pgibot_flood_rate: float = Field(default=1.0, gt=0, le=100)
    pgibot_invitation_days: int = Field(default=7, ge=1, le=365)
    pgibot_leader_review: bool = False
    """Whether agency leaders review their own agency's reports (``/duyet``) too."""
