"""Files the emulator knows by file_id: uploads from the bot and media sent by users."""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


@dataclass(frozen=True)
class StoredFile:
    """A file and the identifiers Telegram gives it."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes | None
    name: str | None = None
    mime_type: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes (0 when only a URL is known)."""
        return len(self.data) if self.data is not None else 0


class FileStore:
    """file_id -> file, and file_path -> file for downloads through /file/bot<token>/<path>."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}

    def add(
        self, data: bytes | None, kind: str, name: str | None = None, mime_type: str | None = None
    ) -> StoredFile:
        """Store a file under fresh identifiers."""
        number = len(self._by_id) + 1
        digest = hashlib.sha1(data or (name or "").encode()).hexdigest()[:10]
        extension = (
            (name.rsplit(".", 1)[-1] if name and "." in name else "bin") if kind == "documents" else "jpg"
        )
        stored = StoredFile(
            file_id=f"EMU{kind[:3].upper()}{number:06d}{digest}",
            file_unique_id=f"U{number:06d}{digest}",
            file_path=f"{kind}/file_{number}.{extension}",
            data=data,
            name=name,
            mime_type=mime_type,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this file_id, if the emulator issued it."""
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """The file served at this file_path."""
        return self._by_path.get(file_path)


def looks_like_image(data: bytes) -> bool:
    """Whether Telegram could process the bytes as a photo (JPEG, PNG, GIF, BMP or WebP)."""
    return data.startswith(_IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def image_size(data: bytes | None) -> tuple[int, int]:
    """Width and height of a PNG; a plausible photo size for anything else."""
    if data and data.startswith(b"\x89PNG") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return 800, 600


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid, small grey PNG: realistic bytes for photos users send."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
