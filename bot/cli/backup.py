"""``pgibot backup`` and ``pgibot restore``: the database and the evidence files, checked."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from bot.cli.app import App, command, out
from bot.core.i18n import _, format_size, format_timestamp
from storage.backup import create_backup, daily_name, kind_name, restore_backup


def default_backup_folder(app: App) -> Path:
    """Return the folder of the scheduled backups (and of ``pgibot backup`` without --out)."""
    return app.settings.backup_dir


async def cmd_backup(app: App, args: argparse.Namespace) -> int:
    """Back up the database and the evidence files into one archive."""
    await app.ensure_migrated()
    now = app.clock.now()
    target: Path = args.out or default_backup_folder(app) / daily_name(
        now.astimezone(app.settings.timezone)
    )
    manifest = await create_backup(app.database, app.settings.pgibot_data_dir, target, now)
    out(
        _("Backup written to %(file)s (%(size)s).")
        % {"file": target, "size": format_size(await asyncio.to_thread(os.path.getsize, target))}
    )
    out("  " + _facts(manifest.database, manifest.schema_revision, len(manifest.evidence)))
    return 0


async def cmd_restore(app: App, args: argparse.Namespace) -> int:
    """Restore a backup into the configured database and the data folder."""
    restored = await restore_backup(
        app.db.engine,
        app.database,
        app.settings.pgibot_data_dir,
        args.file,
        force=args.force,
        now=app.clock.now(),
    )
    manifest = restored.manifest
    out(
        _("Restored %(file)s, made at %(moment)s.")
        % {"file": args.file, "moment": format_timestamp(manifest.created_at)}
    )
    out("  " + _facts(manifest.database, manifest.schema_revision, restored.evidence_files))
    if restored.migrated_to:
        out(
            "  "
            + _("The database was migrated forward to revision %(rev)s.")
            % {"rev": restored.migrated_to}
        )
    if restored.missing_files:
        out(
            "  "
            + _("%(count)s evidence files named by reports are missing, for example %(file)s.")
            % {"count": len(restored.missing_files), "file": restored.missing_files[0]}
        )
    return 0


def _facts(kind: str, revision: str, evidence: int) -> str:
    return _("%(kind)s database at revision %(rev)s; %(count)s evidence files.") % {
        "kind": kind_name(kind),
        "rev": revision,
        "count": evidence,
    }


def add_parsers(sub: Any) -> None:
    """Add ``pgibot backup`` and ``pgibot restore`` to the parser."""
    p = command(
        sub,
        "backup",
        _("back up the database and the evidence files into one archive (.tar.gz)"),
        cmd_backup,
    )
    p.add_argument(
        "--out",
        type=Path,
        help=_("the archive to write (default: a dated file in the backup folder)"),
    )
    p = command(
        sub,
        "restore",
        _("restore a backup (the bot must be stopped)"),
        cmd_restore,
    )
    p.add_argument("file", type=Path, help=_("the backup archive (.tar.gz)"))
    p.add_argument(
        "--force",
        action="store_true",
        help=_("replace a database that already holds data with the backup's"),
    )
