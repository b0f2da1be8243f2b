"""The Telegram adapter's settings: the bot's token, the Bot API server, its pace."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from bot.config.common import SECTION_CONFIG, http_url
from bot.config.web import WebhookSecret

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
TELEGRAM_API_FILE_URL = "https://api.telegram.org/file/bot"


class TelegramSettings(BaseSettings):
    """``TELEGRAM_*``, and the outbox's pace on Telegram (``PGIBOT_SEND_RATE``, ...)."""

    model_config = SECTION_CONFIG

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = TELEGRAM_API_BASE_URL
    telegram_api_file_url: str = TELEGRAM_API_FILE_URL
    telegram_bot_username: str | None = None
    telegram_webhook_secret: WebhookSecret | None = None
    pgibot_send_rate: float = Field(default=25.0, gt=0, le=30)
    pgibot_chat_interval: float = Field(default=1.0, ge=0, le=60)

    @field_validator("telegram_api_base_url", "telegram_api_file_url")
    @classmethod
    def _telegram_urls(cls, value: str) -> str | None:
        return http_url(value)
