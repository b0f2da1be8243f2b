"""Evidence files (minh chứng): what is accepted, and storing them under the data folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePath

from bot.core.messages import FileRef
from storage.dto import AttachmentInfo

MAX_FILE_BYTES = 20 * 1024 * 1024
"""The Bot API lets a bot download files of at most 20 MB."""
MAX_FILES = 10
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
    """Decide from its name, type and size whether a file can be evidence."""
    suffix = PurePath(file.file_name or "").suffix.lower()
    extension = suffix if suffix in ALLOWED else _EXTENSION_OF_MIME.get(file.mime_type or "")
    return FileCheck(extension, (file.size or 0) > MAX_FILE_BYTES)


def display_name(file: FileRef, extension: str, number: int) -> str:
    """Return a safe file name to show and keep: the user's, or a made-up one for photos."""
    name = PurePath(file.file_name or "").name.strip()
    if not name:
        name = f"anh-{number}{extension}"
    return name[:200]


def store(data_dir: Path, content: bytes, extension: str) -> tuple[str, str]:
    """Store content by its checksum under data_dir/evidence; return (sha256, relative path)."""
    digest = hashlib.sha256(content).hexdigest()
    relative = Path("evidence") / digest[:2] / f"{digest}{extension}"
    target = data_dir / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(content)
        partial.replace(target)
    return digest, str(relative)


def attachment(
    file: FileRef, content: bytes, name: str, digest: str, relative: str
) -> AttachmentInfo:
    """Describe a stored file as an attachment."""
    return AttachmentInfo(
        file_name=name,
        mime_type=file.mime_type or ALLOWED.get(PurePath(name).suffix.lower()),
        size=len(content),
        sha256=digest,
        storage_path=relative,
        platform_file_id=file.file_id,
    )
