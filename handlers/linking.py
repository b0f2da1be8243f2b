"""``/lienket`` and ``/kenh``: one person, two apps.

A member asks ``/lienket`` on one channel and gets a one-time code; sending ``/lienket CODE``
from the other app links that account to the same member. Notifications then go once, to the
channel the member chose with ``/kenh telegram`` or ``/kenh zalo`` (by default the one linked
last).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update

from bot.core.i18n import _
from bot.core.messages import Channel, Reply
from handlers.context import Context
from storage.models import LinkCode, Member, MemberIdentity

LINK_MINUTES = 15
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CHANNEL_NAMES = {"telegram": Channel.TELEGRAM, "zalo": Channel.ZALO}


async def link(ctx: Context) -> list[Reply]:
    """Answer /lienket (give a code) or /lienket CODE (link this account with it)."""
    if ctx.incoming.argument:
        return await _use(ctx, ctx.incoming.argument.strip().upper())
    member = ctx.require_member()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
    ctx.uow.session.add(
        LinkCode(
            code=code,
            member_id=member.id,
            channel=ctx.incoming.channel.value,
            expires_at=ctx.now() + timedelta(minutes=LINK_MINUTES),
            created_at=ctx.now(),
        )
    )
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
    row = await ctx.uow.session.scalar(select(LinkCode).where(LinkCode.code == code))
    if row is None or row.used_at is not None or row.expires_at <= ctx.now():
        ctx.audit("link.refused", code=code[:16])
        return [
            Reply(
                _(
                    "This linking code is not valid or has expired. Send /lienket again in "
                    "the app where you are registered."
                )
            )
        ]
    if row.channel == incoming.channel.value:
        return [Reply(_("Please send the code from the other app, not from this one."))]
    if ctx.member is not None:
        if ctx.member.id == row.member_id:
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
    row.used_at = ctx.now()
    ctx.uow.session.add(
        MemberIdentity(
            member_id=row.member_id,
            channel=incoming.channel.value,
            user_id=incoming.user_id,
            chat_id=incoming.chat_id,
            created_at=ctx.now(),
        )
    )
    await ctx.uow.session.execute(
        update(Member)
        .where(Member.id == row.member_id)
        .values(preferred_channel=incoming.channel.value)
    )
    await ctx.uow.session.flush()
    ctx.member = await ctx.uow.members.get(row.member_id)
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


async def choose_channel(ctx: Context) -> list[Reply]:
    """Answer /kenh telegram|zalo: where notifications go."""
    member = ctx.require_member()
    wanted = ctx.incoming.argument.strip().lower()
    channel = CHANNEL_NAMES.get(wanted)
    accounts = set(
        await ctx.uow.session.scalars(
            select(MemberIdentity.channel).where(MemberIdentity.member_id == member.id)
        )
    )
    if channel is None or channel.value not in accounts:
        names = ", ".join(sorted(a for a in accounts if a in CHANNEL_NAMES)) or "-"
        return [
            Reply(
                _("Send /kenh followed by one of your linked apps: %(names)s.") % {"names": names}
            )
        ]
    await ctx.uow.session.execute(
        update(Member).where(Member.id == member.id).values(preferred_channel=channel.value)
    )
    ctx.audit("link.channel", chosen=channel.value)
    return [
        Reply(
            _("Reminders and notices will now come to you on %(channel)s.")
            % {"channel": wanted.capitalize()}
        )
    ]
