"""Download links: how long a link to a file a platform cannot send stays valid."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from bot.config.common import SECTION_CONFIG


class DownloadSettings(BaseSettings):
    """``PGIBOT_DOWNLOAD_LINK_MINUTES`` and ``PGIBOT_DOWNLOAD_LINK_ONCE``.

    Links are made only in webhook mode: they point at the bot's web server, under
    ``PGIBOT_WEBHOOK_URL``.
    """

    model_config = SECTION_CONFIG

    pgibot_download_link_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    pgibot_download_link_once: bool = False
    """Whether a link gives its file once only (a chat's link preview may use it up)."""
