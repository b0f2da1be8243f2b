"""``/web``: a one-time link that opens the web dashboard as the member who asked.

The link is valid for 10 minutes and opens one session; what the member then sees is what
their role allows in chat. Only the link's SHA-256 is stored.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.i18n import N_, _
from bot.core.messages import Reply
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Conversation

LINK_MINUTES = 10


def login_link(dashboard_url: str, token: str) -> str:
    """Return the address of a login link on the dashboard at ``dashboard_url``."""
    return f"{dashboard_url.rstrip('/')}/login/{token}"


async def web_link(ctx: Context) -> list[Reply]:
    """Answer /web with a login link to the dashboard."""
    url = ctx.bot.dashboard_url
    if url is None:
        return [
            Reply(
                _(
                    "The web dashboard is not enabled on this server. Please ask the "
                    "administrator (PGIBOT_WEB_URL)."
                )
            )
        ]
    member = ctx.require_member()
    token = ctx.uow.web_logins.create_link(member.id, ctx.now(), timedelta(minutes=LINK_MINUTES))
    ctx.audit("web.link")
    return [
        Reply(
            _(
                "Your link to the web dashboard, valid for %(minutes)s minutes and usable "
                "once:\n%(link)s\nDo not forward it: it logs in as you."
            )
            % {"minutes": LINK_MINUTES, "link": login_link(url, token)}
        )
    ]


CONVERSATION = Conversation(
    "dashboard",
    commands=(
        Command(
            "web", N_("a link that opens the web dashboard (valid 10 minutes)"), EVERYONE, web_link
        ),
    ),
)
