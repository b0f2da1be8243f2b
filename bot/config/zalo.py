"""The Zalo adapter's settings: the bot's token, the Bot Platform server, its pace."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from bot.config.common import SECTION_CONFIG, http_url
from bot.config.web import WebhookSecret

ZALO_API_BASE_URL = "https://bot-api.zaloplatforms.com/bot"


class ZaloSettings(BaseSettings):
    """``ZALO_*``, and the outbox's pace on Zalo (``PGIBOT_ZALO_SEND_RATE``, ...)."""

    model_config = SECTION_CONFIG

    zalo_bot_token: SecretStr | None = None
    zalo_api_base_url: str = ZALO_API_BASE_URL
    zalo_download_hosts: str | None = None
    """Comma-separated hosts users' Zalo photos may come from (with subdomains); None: Zalo's."""
    zalo_webhook_secret: WebhookSecret | None = None
    pgibot_zalo_send_rate: float = Field(default=10.0, gt=0, le=30)
    pgibot_zalo_chat_interval: float = Field(default=1.0, ge=0, le=60)

    @field_validator("zalo_api_base_url")
    @classmethod
    def _zalo_url(cls, value: str) -> str | None:
        return http_url(value)
