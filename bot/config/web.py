"""The bot's web server: where the platforms push updates (webhook mode), and the dashboard."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from bot.config.common import SECTION_CONFIG, http_url

WebhookSecret = Annotated[SecretStr, Field(min_length=8, max_length=256)]
"""A platform's webhook secret (the platforms take 8 to 256 characters)."""


class WebSettings(BaseSettings):
    """``PGIBOT_WEBHOOK_URL`` (webhook mode when set), ``_LISTEN`` and ``_PORT``.

    ``PGIBOT_WEB_URL``: the dashboard's public address (``https://pgi.example.vn``); when it is
    set (or the webhook's is), ``pgibot run`` serves the dashboard under ``/web/`` and ``/web``
    in chat gives login links to it. ``PGIBOT_WEB_SESSION_HOURS``: how long a dashboard
    session lasts.
    """

    model_config = SECTION_CONFIG

    pgibot_webhook_url: str | None = None
    pgibot_webhook_listen: str = "127.0.0.1"
    pgibot_webhook_port: int = Field(default=8080, ge=1, le=65535)
    pgibot_web_url: str | None = None
    pgibot_web_session_hours: int = Field(default=8, ge=1, le=24 * 7)

    @field_validator("pgibot_webhook_url", "pgibot_web_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return http_url(value)

    def dashboard_url(self) -> str:
        """Return the dashboard's public address (ending in ``/web/``).

        ``PGIBOT_WEB_URL``, else the webhook's address, else the local listening address.
        """
        base = self.pgibot_web_url or self.pgibot_webhook_url
        if not base:
            base = f"http://{self.pgibot_webhook_listen}:{self.pgibot_webhook_port}"
        return base.rstrip("/") + "/web/"

    def webhook_url(self, path: str) -> str | None:
        """Return the public address of a webhook path; None in polling mode."""
        base = self.pgibot_webhook_url
        return base.rstrip("/") + path if base else None
