"""``/lienket`` and ``/kenh``: one person, two apps.

A member asks ``/lienket`` on one channel and gets a one-time code; sending ``/lienket CODE``
from the other app links that account to the same member. Notifications then go once, to the
channel the member chose with ``/kenh telegram`` or ``/kenh zalo`` (by default the one linked
last).
"""

from __future__ import annotations

from bot.core.i18n import N_, _
from bot.core.messages import Reply
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Conversation

LINK_MINUTES = 15


async def link(ctx: Context) -> list[Reply]:
    """Answer /lienket (give a code) or /lienket CODE (link this account with it)."""
    if ctx.incoming.argument:
        return await _use(ctx, ctx.incoming.argument.strip().upper())
    member = ctx.require_member()
    code = ctx.uow.link_codes.create(member.id, ctx.incoming.channel, ctx.now(), LINK_MINUTES)
    ctx.audit("link.code", code=code)
    return [
        Reply(
            _(
                "Your linking code is %(code)s, valid for %(minutes)s minutes. In the other app "
                "(Telegram or Zalo), send to the bot: /lienket %(code)s"
            )
            % {"code": code, "minutes": LINK_MINUTES}
        )
    ]


async def _use(ctx: Context, code: str) -> list[Reply]:
    incoming = ctx.incoming
    usable = await ctx.uow.link_codes.find_usable(code, ctx.now())
    if usable is None:
        return _refuse_code(ctx, code)
    member_id, origin = usable
    if origin == incoming.channel:
        return [Reply(_("Please send the code from the other app, not from this one."))]
    if ctx.member is not None:
        if ctx.member.id == member_id:
            return [Reply(_("These two accounts are already linked."))]
        return [
            Reply(
                _(
                    "This account is already registered for %(agency)s and cannot be linked "
                    "to another member."
                )
                % {"agency": ctx.member.agency_name}
            )
        ]
    if not await ctx.uow.link_codes.mark_used(code, ctx.now()):
        return _refuse_code(ctx, code)  # used from another account meanwhile
    await ctx.uow.members.add_identity(
        member_id, incoming.channel, incoming.user_id, incoming.chat_id, ctx.now()
    )
    await ctx.uow.members.set_preferred_channel(member_id, incoming.channel)
    ctx.member = await ctx.uow.members.get(member_id)
    ctx.audit("link.done", code=code)
    return [
        Reply(
            _(
                "Linked. This account now acts for %(name)s of %(agency)s, and reminders will "
                "come here. To receive them in the other app instead, send /kenh telegram or "
                "/kenh zalo."
            )
            % {"name": ctx.require_member().full_name, "agency": ctx.require_member().agency_name}
        )
    ]


def _refuse_code(ctx: Context, code: str) -> list[Reply]:
    """Say that a linking code is of no use (unknown, used or expired), and audit it."""
    ctx.audit("link.refused", code=code[:16])
    return [
        Reply(
            _(
                "This linking code is not valid or has expired. Send /lienket again in "
                "the app where you are registered."
            )
        )
    ]


async def choose_channel(ctx: Context) -> list[Reply]:
    """Answer /kenh NAME: where notifications go, among the platforms the bot runs on."""
    member = ctx.require_member()
    platform = ctx.bot.platform(ctx.incoming.argument.strip().lower())
    accounts = await ctx.uow.members.channels_of(member.id)
    if platform is None or platform.name not in accounts:
        names = ", ".join(sorted(a for a in accounts if ctx.bot.platform(a) is not None)) or "-"
        return [
            Reply(
                _("Send /kenh followed by one of your linked apps: %(names)s.") % {"names": names}
            )
        ]
    await ctx.uow.members.set_preferred_channel(member.id, platform.name)
    ctx.audit("link.channel", chosen=platform.name)
    return [
        Reply(
            _("Reminders and notices will now come to you on %(channel)s.")
            % {"channel": platform.label}
        )
    ]


CONVERSATION = Conversation(
    "linking",
    commands=(
        Command(
            "lienket",
            N_("link your Telegram and Zalo accounts (/lienket, then /lienket CODE)"),
            EVERYONE,
            link,
        ),
        Command(
            "kenh",
            N_("where reminders go: /kenh telegram or /kenh zalo"),
            EVERYONE,
            choose_channel,
        ),
    ),
)
