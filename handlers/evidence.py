"""Evidence files (minh chứng): what is accepted, downloading, checking and storing them.

A file is downloaded before the transaction that records it (:func:`prefetch`, called by the
router), so a slow platform holds no database lock: the download streams to a staging file
under the data folder, with a size cap enforced as the bytes arrive (whatever size the
platform announced) and a total timeout. Its kind is then read from its first bytes (magic
numbers, with the ``filetype`` library) and checked against the accepted kinds and the name
the user gave it: an executable, a page of HTML or an empty file is refused whatever it is
called. Only then is it moved to its place, named by its checksum; the transaction merely
records it (:func:`receive`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any, Protocol, runtime_checkable

import filetype

from bot.core.domain.conversation import ConversationState
from bot.core.domain.submissions import AttachmentInfo
from bot.core.i18n import _, format_size
from bot.core.messages import FileRef, FileSource, FileUnavailable, Incoming, Reply
from handlers import replies
from handlers.context import BotInfo, Context
from storage.db import Database
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
"""The Bot API lets a bot download files of at most 20 MB."""
MAX_FILES = 10
DOWNLOAD_TIMEOUT = 120.0
"""Seconds a whole download may take (the PGIBOT_DOWNLOAD_TIMEOUT setting)."""
HEAD_BYTES = 8192
"""Bytes read to tell a file's kind."""
ALLOWED = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
_EXTENSION_OF_MIME = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
_SAME_KIND = {".jpeg": ".jpg"}
_PHOTOS = (".jpg", ".png")
_EXECUTABLES = {"exe", "elf", "dex", "dcm", "class", "swf", "crx", "deb", "rpm", "msi"}
"""filetype's names of programs and packages: never evidence, whatever they are called."""
_OLE = bytes.fromhex("D0CF11E0A1B11AE1")
"""The header of an OLE compound file: Word 97-2003 (.doc) and Excel 97-2003 (.xls)."""
_OOXML_PART = {".docx": "word/document.xml", ".xlsx": "xl/workbook.xml"}


@dataclass(frozen=True, slots=True)
class FileCheck:
    """Whether a file may be accepted, and the extension it will be stored with."""

    extension: str | None
    too_large: bool

    @property
    def ok(self) -> bool:
        """Tell whether the file is acceptable."""
        return self.extension is not None and not self.too_large


def check_file(file: FileRef) -> FileCheck:
    """Decide from its name, type and announced size whether a file can be evidence."""
    suffix = PurePath(file.file_name or "").suffix.lower()
    extension = suffix if suffix in ALLOWED else _EXTENSION_OF_MIME.get(file.mime_type or "")
    return FileCheck(extension, (file.size or 0) > MAX_FILE_BYTES)


def display_name(file: FileRef, extension: str, number: int) -> str:
    """Return a safe file name to show and keep: the user's, or a made-up one for photos."""
    name = PurePath(file.file_name or "").name.strip()
    if not name:
        name = f"anh-{number}{extension}"
    return name[:200]


# --- downloading ---------------------------------------------------------------------------


@runtime_checkable
class FileStream(Protocol):
    """A channel that can hand over a file chunk by chunk (instead of all at once)."""

    def stream(self, file: FileRef) -> AsyncIterator[bytes]:
        """Yield the file's bytes; raise :class:`FileUnavailable` if it cannot be had."""
        ...


class Outcome(StrEnum):
    """How a download (and the check of what came) ended."""

    STORED = "stored"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"
    TIMED_OUT = "timed_out"
    EMPTY = "empty"
    EXECUTABLE = "executable"
    MISMATCH = "mismatch"


@dataclass(frozen=True, slots=True)
class Downloaded:
    """What became of a file: stored (with its checksum and place) or refused, and why."""

    outcome: Outcome
    written: int = 0
    """Bytes written to the staging file (at most the cap and one chunk)."""
    sha256: str | None = None
    storage_path: str | None = None
    extension: str | None = None


async def _chunks(source: FileSource, file: FileRef) -> AsyncIterator[bytes]:
    if isinstance(source, FileStream):
        async for chunk in source.stream(file):
            yield chunk
    else:  # a source that hands over the whole content (tests, simple channels)
        yield await source.fetch(file)


async def download(
    source: FileSource,
    file: FileRef,
    data_dir: Path,
    *,
    declared: str,
    limit: int = MAX_FILE_BYTES,
    time_limit: float = DOWNLOAD_TIMEOUT,
) -> Downloaded:
    """Download a file to the data folder, check its content and store it by its checksum.

    ``declared`` is the extension its name or type claims. The download stops as soon as
    more than ``limit`` bytes came, or when ``time_limit`` seconds have passed in all; the
    staging file is removed whenever the file is refused.
    """
    staging = data_dir / "evidence" / "incoming" / f"{secrets.token_hex(8)}.part"
    staging.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    head = bytearray()
    try:
        with staging.open("wb") as sink:
            try:
                async with asyncio.timeout(time_limit):
                    async for chunk in _chunks(source, file):
                        written += len(chunk)
                        if written > limit:
                            return Downloaded(Outcome.TOO_LARGE, written)
                        if len(head) < HEAD_BYTES:
                            head += chunk[: HEAD_BYTES - len(head)]
                        digest.update(chunk)
                        sink.write(chunk)
            except TimeoutError:
                logger.warning("download of %s timed out after %.0f s", file.file_id, time_limit)
                return Downloaded(Outcome.TIMED_OUT, written)
            except FileUnavailable as error:
                logger.warning("could not download %s: %s", file.file_id, error)
                return Downloaded(Outcome.UNAVAILABLE, written)
        if written == 0:
            return Downloaded(Outcome.EMPTY, 0)
        outcome, extension = kind_of(bytes(head), staging, declared)
        if outcome is not Outcome.STORED or extension is None:
            return Downloaded(outcome, written)
        sha256 = digest.hexdigest()
        relative = Path("evidence") / sha256[:2] / f"{sha256}{extension}"
        target = data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
        return Downloaded(Outcome.STORED, written, sha256, str(relative), extension)
    finally:
        staging.unlink(missing_ok=True)


def kind_of(head: bytes, path: Path, declared: str) -> tuple[Outcome, str | None]:
    """Tell from its first bytes what a file is; refuse programs and claims that do not hold.

    Returns the outcome and the extension to store the file with (the declared one, in its
    usual spelling, when the content is of that kind).
    """
    declared = _SAME_KIND.get(declared, declared)
    kind = filetype.guess(head)
    found = _SAME_KIND.get(f".{kind.extension}", f".{kind.extension}") if kind else None
    if kind is not None and kind.extension in _EXECUTABLES:
        return Outcome.EXECUTABLE, None
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF") or head.startswith(b"#!"):
        return Outcome.EXECUTABLE, None
    if declared in _OOXML_PART and found in (".zip", ".docx", ".xlsx", None):
        if _has_part(path, declared):
            return Outcome.STORED, declared
        return Outcome.MISMATCH, None
    if declared in (".doc", ".xls") and (found == declared or head.startswith(_OLE)):
        return Outcome.STORED, declared  # filetype tells few OLE files apart; the header does
    if found == declared:
        return Outcome.STORED, declared
    if declared in _PHOTOS and found in _PHOTOS:  # a photo saved under the other photo suffix
        return Outcome.STORED, found
    return Outcome.MISMATCH, None


def _has_part(path: Path, extension: str) -> bool:
    """Tell whether a zip file is an Office Open XML document of the given kind."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return _OOXML_PART[extension] in names


# --- before the transaction, and in it ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prefetched:
    """A file downloaded (or refused) before the transaction; the router hands it to the step.

    It stands where the channel's file source was: the step reads :attr:`result` instead of
    downloading again.
    """

    file: FileRef
    result: Downloaded

    async def fetch(self, file: FileRef) -> bytes:
        """Never called: the file was downloaded already."""
        raise FileUnavailable("the file was downloaded before the transaction")


async def prefetch(
    database: Database,
    incoming: Incoming,
    source: FileSource,
    bot: BotInfo,
    *,
    awaiting: Callable[[ConversationState], bool],
) -> FileSource:
    """Download the file of an update before its transaction, if the chat is waiting for one.

    A short read tells whether the sender is an active member whose conversation is at a step
    that takes files (``awaiting``) and whether the file is of an accepted kind by its name;
    otherwise nothing is downloaded and the step refuses it in the transaction as before.
    Returns what the transaction should use as the file source.
    """
    file = incoming.file
    if file is None:
        return source
    check = check_file(file)
    if not check.ok or check.extension is None:
        return source
    channel = incoming.channel
    async with UnitOfWork(database).reading() as reads:
        member, state = await reads.members.in_chat(channel, incoming.user_id, incoming.chat_id)
        if member is not None and state is None:
            state = await reads.conversations.get(channel, incoming.chat_id)
    if member is None or not member.active or state is None or not awaiting(state):
        return source
    if len(state.data.get("files", [])) >= MAX_FILES:
        return source
    result = await download(
        source, file, bot.data_dir, declared=check.extension, time_limit=bot.download_timeout
    )
    return Prefetched(file, result)


@dataclass(frozen=True, slots=True)
class Received:
    """A file taken as evidence: what the conversation keeps, and the note to the user."""

    entry: dict[str, Any]
    note: Reply


async def receive(ctx: Context, file: FileRef, number: int) -> Received | Reply:
    """Take a file sent at the evidence step; return it, or the polite refusal to send.

    The file was normally downloaded before the transaction (:func:`prefetch`); a caller that
    did not do so gets it downloaded here.
    """
    check = check_file(file)
    if check.extension is None:
        return Reply(
            _(
                "The bot accepts only pdf, doc, docx, xls, xlsx, jpg and png files. "
                "Please send the evidence in one of these formats."
            )
        )
    if check.too_large:
        return _too_large(file.size or 0)
    source = ctx.files
    if isinstance(source, Prefetched) and source.file == file:
        result = source.result
    elif source is None or isinstance(source, Prefetched):
        return replies.unsupported_file()
    else:
        result = await download(
            source,
            file,
            ctx.bot.data_dir,
            declared=check.extension,
            time_limit=ctx.bot.download_timeout,
        )
    if result.outcome is not Outcome.STORED:
        logger.info("file from %s refused: %s", ctx.incoming.user_id, result.outcome.value)
        return _refusal(result)
    assert result.sha256 and result.storage_path and result.extension
    name = display_name(file, result.extension, number)
    stored = AttachmentInfo(
        file_name=name,
        mime_type=ALLOWED[result.extension],
        size=result.written,
        sha256=result.sha256,
        storage_path=result.storage_path,
        platform_file_id=file.file_id,
    )
    entry = {
        "name": stored.file_name,
        "mime": stored.mime_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "path": stored.storage_path,
        "file_id": stored.platform_file_id,
    }
    note = Reply(
        _("Received %(name)s (%(size)s).") % {"name": name, "size": format_size(stored.size)}
    )
    return Received(entry, note)


def _too_large(size: int) -> Reply:
    return Reply(
        _("The file is too large (%(size)s); each file may be at most %(limit)s.")
        % {"size": format_size(size, round_up=True), "limit": format_size(MAX_FILE_BYTES)}
    )


def _refusal(result: Downloaded) -> Reply:
    if result.outcome is Outcome.TOO_LARGE:
        return Reply(
            _("The file is larger than %(limit)s, the most each file may be.")
            % {"limit": format_size(MAX_FILE_BYTES)}
        )
    if result.outcome is Outcome.EMPTY:
        return Reply(_("The file is empty (0 B). Please send the file that holds the evidence."))
    if result.outcome is Outcome.EXECUTABLE:
        return Reply(
            _(
                "The file is a program, which the bot does not accept as evidence. Please "
                "send the evidence as a pdf, doc, docx, xls, xlsx, jpg or png file."
            )
        )
    if result.outcome is Outcome.MISMATCH:
        return Reply(
            _(
                "The content of the file does not match its name or type, so the bot cannot "
                "accept it. Please send the evidence as a genuine pdf, doc, docx, xls, xlsx, "
                "jpg or png file."
            )
        )
    if result.outcome is Outcome.TIMED_OUT:
        return Reply(
            _(
                "Downloading the file from the platform took too long, so it was stopped. "
                "Please send it again in a moment, or send a smaller file."
            )
        )
    return Reply(
        _(
            "The bot could not download this file from the platform. Please send it "
            "again in a moment; if it still fails, send it as a document under 20 MB."
        )
    )
