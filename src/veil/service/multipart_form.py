"""Read a multipart form from the request stream: the file goes straight to disk, sizes are capped early."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

__all__ = ["FormError", "ParsedForm", "UploadedFile", "read_form", "safe_filename"]

_MAX_FIELDS = 64
_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class FormError(Exception):
    """The form cannot be accepted; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class UploadedFile:
    """The uploaded file as written to disk."""

    path: Path
    filename: str
    size: int
    sha256: str


@dataclass
class ParsedForm:
    """Text fields and the one file of a form."""

    fields: dict[str, str] = field(default_factory=dict)
    file: UploadedFile | None = None


def safe_filename(name: str) -> str:
    """Return ``name`` reduced to a plain base name (no folders, no control characters), for display only."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE.sub("_", base).strip(" .")[:120]
    return cleaned or "upload"


class _Collector:
    """Parser callbacks: route each part to a bounded text buffer or to the upload file."""

    def __init__(self, dest: Path, file_field: str, max_file_bytes: int, max_field_bytes: int) -> None:
        self.form = ParsedForm()
        self._dest = dest
        self._file_field = file_field
        self._max_file = max_file_bytes
        self._max_field = max_field_bytes
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._name = ""
        self._filename: str | None = None
        self._text = bytearray()
        self._out: BinaryIO | None = None
        self._size = 0
        self._digest = hashlib.sha256()
        self.error: FormError | None = None

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._header_field_cb,
            "on_header_value": self._header_value_cb,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }

    def _fail(self, status: int, message: str) -> None:
        if self.error is None:
            self.error = FormError(status, message)
        raise self.error

    def _part_begin(self) -> None:
        self._headers = {}
        self._text = bytearray()
        self._filename = None

    def _header_field_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        if not self._name:
            self._fail(400, "a form part has no name")
        filename = params.get(b"filename")
        if filename is None:
            if len(self.form.fields) >= _MAX_FIELDS:
                self._fail(400, f"more than {_MAX_FIELDS} form fields")
            return
        if self._name != self._file_field:
            self._fail(400, f"unexpected file field {self._name!r}; send the upload as {self._file_field!r}")
        if self._out is not None or self.form.file is not None:
            self._fail(400, "more than one file in the form; send one file per request")
        self._filename = safe_filename(filename.decode("utf-8", "replace"))
        fd = os.open(self._dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out = os.fdopen(fd, "wb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._out is not None:
            self._size += len(chunk)
            if self._size > self._max_file:
                self._fail(413, f"the upload is larger than the limit of {self._max_file} bytes")
            self._digest.update(chunk)
            self._out.write(chunk)
            return
        self._text += chunk
        if len(self._text) > self._max_field:
            self._fail(413, f"form field {self._name!r} is longer than {self._max_field} bytes")

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            self.form.file = UploadedFile(
                self._dest, self._filename or "upload", self._size, self._digest.hexdigest()
            )
            return
        if self._name in self.form.fields:
            # Which of two values counts would be a guess; a client that sends both made a mistake.
            self._fail(400, f"form field {self._name!r} is given more than once; send it once")
        try:
            self.form.fields[self._name] = self._text.decode("utf-8")
        except UnicodeDecodeError:
            self._fail(400, f"form field {self._name!r} is not UTF-8 text")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


async def read_form(
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
    dest: Path,
    *,
    file_field: str = "file",
    max_file_bytes: int,
    max_field_bytes: int,
) -> ParsedForm:
    """Parse a ``multipart/form-data`` body, writing the file part to the new file ``dest``.

    On any error the partial file is removed and FormError says which HTTP status to answer.
    """
    media_type, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise FormError(415, "send the upload as multipart/form-data")
    limit = max_file_bytes + _MAX_FIELDS * (max_field_bytes + 512)
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise FormError(413, f"the request is larger than the limit of {max_file_bytes} bytes")
    collector = _Collector(dest, file_field, max_file_bytes, max_field_bytes)
    parser = MultipartParser(boundary, collector.callbacks(), max_size=limit)  # type: ignore[arg-type]
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
        if collector.error is not None:
            raise collector.error
        if collector.form.file is None and dest.exists():
            raise FormError(400, "the form ended inside the file part")
    except FormError:
        collector.close()
        dest.unlink(missing_ok=True)
        raise
    except (MultipartParseError, ValueError) as exc:
        collector.close()
        dest.unlink(missing_ok=True)
        raise FormError(collector.error.status if collector.error else 400, _reason(collector, exc)) from None
    except BaseException:
        collector.close()
        dest.unlink(missing_ok=True)
        raise
    return collector.form


def _reason(collector: _Collector, exc: Exception) -> str:
    return collector.error.message if collector.error else f"malformed multipart body: {exc}"
