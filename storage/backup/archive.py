"""The backup archive: its manifest, writing it, and checking (and unpacking) one.

See :mod:`storage.backup` for the format.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from bot.core.i18n import _

FORMAT = "pgibot-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
EVIDENCE = "evidence"
EVIDENCE_NAME = re.compile(r"evidence/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,5}")
"""The name of a stored evidence file, relative to the data folder (see handlers.evidence)."""
_CHUNK = 1 << 20
_MANIFEST_LIMIT = 50 << 20
"""A manifest larger than this is not one of ours (a million evidence files is ~150 MB)."""


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why, for the administrator."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of an archive: its size and SHA-256."""

    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an archive holds and where it comes from."""

    database: str
    """``sqlite`` or ``postgresql``."""
    schema_revision: str
    created_at: datetime
    files: dict[str, FileEntry] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def database_file(self) -> str:
        """Return the archive member that holds the database."""
        return SQLITE_FILE if self.database == "sqlite" else POSTGRES_FILE

    @property
    def evidence(self) -> list[str]:
        """Return the evidence files' names in the archive."""
        return sorted(name for name in self.files if name.startswith(EVIDENCE + "/"))

    def to_json(self) -> bytes:
        """Return the manifest as the archive stores it."""
        return json.dumps(
            {
                "format": FORMAT,
                "format_version": self.format_version,
                "created_at": self.created_at.isoformat(),
                "database": self.database,
                "schema_revision": self.schema_revision,
                "files": {
                    name: {"size": entry.size, "sha256": entry.sha256}
                    for name, entry in self.files.items()
                },
            },
            ensure_ascii=False,
            indent=1,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes, archive: Path) -> Manifest:
        """Read a manifest; raise BackupError when it is not a pgibot backup's."""
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError("format")
            version = int(data["format_version"])
            files = {
                str(name): FileEntry(int(entry["size"]), str(entry["sha256"]))
                for name, entry in data["files"].items()
            }
            manifest = cls(
                database=str(data["database"]),
                schema_revision=str(data["schema_revision"]),
                created_at=datetime.fromisoformat(data["created_at"]),
                files=files,
                format_version=version,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise foreign(archive) from None
        if version > FORMAT_VERSION:
            raise BackupError(
                _(
                    "%(file)s was made by a newer version of pgibot (backup format %(version)s); "
                    "update pgibot to restore it."
                )
                % {"file": archive, "version": version}
            )
        if (
            manifest.database not in ("sqlite", "postgresql")
            or manifest.database_file not in files
        ):
            raise foreign(archive)
        if any(
            name != manifest.database_file and not EVIDENCE_NAME.fullmatch(name) for name in files
        ):
            raise foreign(archive)
        return manifest


def foreign(archive: Path) -> BackupError:
    """Return the error for a file that is not a pgibot backup."""
    return BackupError(
        _("%(file)s is not a pgibot backup (no valid manifest.json at its start).")
        % {"file": archive}
    )


def damaged(archive: Path, detail: str) -> BackupError:
    """Return the error for a backup whose content is broken."""
    return BackupError(
        _("%(file)s is damaged and cannot be restored: %(detail)s")
        % {"file": archive, "detail": detail}
    )


def database_kind(url: str) -> str:
    """Return ``sqlite`` or ``postgresql`` for a database URL."""
    return "sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgresql"


def sqlite_path(url: str) -> Path:
    """Return the file of a SQLite database URL; raise BackupError for an in-memory one."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(_("Only a SQLite database in a file can be backed up or restored."))
    return Path(database).expanduser()


def kind_name(kind: str) -> str:
    """Return the name of a database kind as the administrator knows it."""
    return "SQLite" if kind == "sqlite" else "PostgreSQL"


def _hash_file(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(size, digest.hexdigest())


def evidence_files(data_dir: Path) -> dict[str, Path]:
    """Return the stored evidence files by their name in an archive (staging files aside)."""
    root = data_dir / EVIDENCE
    if not root.is_dir():
        return {}
    found = {}
    for path in sorted(root.glob("??/*")):
        name = path.relative_to(data_dir).as_posix()
        if path.is_file() and EVIDENCE_NAME.fullmatch(name):
            found[name] = path
    return found


def write_archive(
    sources: dict[str, Path], out: Path, kind: str, revision: str, now: datetime
) -> Manifest:
    """Write the manifest and the files (by their name in the archive) to ``out``."""
    files = {name: _hash_file(path) for name, path in sources.items()}
    manifest = Manifest(kind, revision, now, files)
    partial = out.with_name(out.name + ".partial")
    try:
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            raw = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(raw), int(now.timestamp()), 0o600
            archive.addfile(info, io.BytesIO(raw))
            for name, path in sources.items():
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = files[name].size, int(now.timestamp()), 0o600
                with path.open("rb") as handle:
                    archive.addfile(info, handle)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def unpack(archive: Path, target: Path | None) -> Manifest:
    """Check an archive (form, manifest, every checksum) and, given a folder, unpack it there.

    Raises BackupError saying whether the file is foreign or damaged.
    """
    if not archive.is_file():
        raise BackupError(_("There is no file %(file)s.") % {"file": archive})
    manifest: Manifest | None = None
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                reader = tar.extractfile(member) if member.isreg() else None
                if manifest is None:
                    if member.name != MANIFEST or reader is None or member.size > _MANIFEST_LIMIT:
                        raise foreign(archive)
                    manifest = Manifest.from_json(reader.read(), archive)
                    continue
                entry = manifest.files.get(member.name)
                if entry is None or reader is None or member.name in seen:
                    raise damaged(
                        archive, _("an unexpected file %(name)s") % {"name": member.name}
                    )
                _check_member(archive, member.name, entry, reader, target)
                seen.add(member.name)
    except (tarfile.TarError, zlib.error, EOFError, gzip.BadGzipFile) as error:
        if manifest is None:
            raise foreign(archive) from None
        raise damaged(archive, str(error) or type(error).__name__) from None
    if manifest is None:
        raise foreign(archive)
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise damaged(archive, _("%(name)s is missing") % {"name": missing[0]})
    return manifest


def _check_member(
    archive: Path, name: str, entry: FileEntry, reader: IO[bytes], target: Path | None
) -> None:
    digest = hashlib.sha256()
    size = 0
    sink = None
    if target is not None:
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sink = path.open("wb")
    try:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
    finally:
        if sink is not None:
            sink.close()
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise damaged(archive, _("%(name)s does not match its checksum") % {"name": name})
