"""The bot's web server: where the platforms push updates (webhook mode)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from bot.config.common import SECTION_CONFIG, http_url

WebhookSecret = Annotated[SecretStr, Field(min_length=8, max_length=256)]
"""A platform's webhook secret (the platforms take 8 to 256 characters)."""


class WebSettings(BaseSettings):
    """``PGIBOT_WEBHOOK_URL`` (webhook mode when set), ``_LISTEN`` and ``_PORT``."""

    model_config = SECTION_CONFIG

    pgibot_webhook_url: str | None = None
    pgibot_webhook_listen: str = "127.0.0.1"
    pgibot_webhook_port: int = Field(default=8080, ge=1, le=65535)

    @field_validator("pgibot_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return http_url(value)

    def webhook_url(self, path: str) -> str | None:
        """Return the public address of a webhook path; None in polling mode."""
        base = self.pgibot_webhook_url
        return base.rstrip("/") + path if base else None
