"""``pgibot api-key create|list|revoke``: the keys other systems read the API with."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.app import App, UsageError, command, out
from bot.core.i18n import _, format_timestamp
from storage.uow import UnitOfWork

MAX_NAME = 100


async def cmd_api_key_create(app: App, args: argparse.Namespace) -> int:
    """Create a key for a named system and print it alone on its line (it is not kept)."""
    await app.ensure_migrated()
    name = " ".join(args.name.split())
    if not name or len(name) > MAX_NAME:
        raise UsageError(
            _("Give the system a name of 1 to %(max)d characters.") % {"max": MAX_NAME}
        )
    async with UnitOfWork(app.db) as uow:
        info, key = await uow.api_keys.create(name, app.clock.now())
        uow.audit.record(
            "api_key.create", now=app.clock.now(), channel="cli", key=info.id, name=name
        )
        await uow.commit()
    out(key)
    return 0


async def cmd_api_key_list(app: App, args: argparse.Namespace) -> int:
    """List the keys: number, name, when made, and whether revoked (never the keys)."""
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        keys = await uow.api_keys.all()
    if not keys:
        out(_("No API key has been created yet."))
        return 0
    for key in keys:
        state = (
            _("revoked %(at)s") % {"at": format_timestamp(key.revoked_at)}
            if key.revoked_at is not None
            else _("active")
        )
        out(
            _("%(id)d. %(name)s (created %(at)s; %(state)s)")
            % {
                "id": key.id,
                "name": key.name,
                "at": format_timestamp(key.created_at),
                "state": state,
            }
        )
    return 0


async def cmd_api_key_revoke(app: App, args: argparse.Namespace) -> int:
    """Revoke a key by its number: it opens nothing from the next call on."""
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        info = await uow.api_keys.revoke(args.id, app.clock.now())
        if info is None:
            raise UsageError(_("There is no API key number %(id)d.") % {"id": args.id})
        uow.audit.record(
            "api_key.revoke", now=app.clock.now(), channel="cli", key=info.id, name=info.name
        )
        await uow.commit()
    out(_("API key %(id)d (%(name)s) is revoked.") % {"id": info.id, "name": info.name})
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``pgibot api-key create|list|revoke`` to the parser."""
    keys = command(sub, "api-key", _("keys of the read-only API for other systems"))
    keys_sub = keys.add_subparsers(dest="api_key_command", required=True, metavar=_("ACTION"))
    p = command(
        keys_sub,
        "create",
        _("create a key and print it (it is shown this once)"),
        cmd_api_key_create,
    )
    p.add_argument("--name", required=True, help=_("the system that will use the key"))
    command(keys_sub, "list", _("list the keys (never the keys themselves)"), cmd_api_key_list)
    p = command(keys_sub, "revoke", _("revoke a key by its number"), cmd_api_key_revoke)
    p.add_argument("id", type=int, metavar=_("NUMBER"), help=_("the key's number in the list"))
