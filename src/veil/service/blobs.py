"""Where a job's files live: encrypted blobs under ``blobs/``, plaintext only briefly under ``work/``."""

from __future__ import annotations

import enum
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from veil.service.crypto import decrypt_chunks, decrypt_file, encrypt_file

__all__ = ["BlobKind", "BlobStore"]

# Files a blob passes through before it is final: being encrypted, or verified before publishing.
_PARTIAL_SUFFIXES = (".tmp", ".staged")
# The form of the ids made by ``jobs.new_job_id``; other names under work/ belong to requests in flight.
_JOB_ID = re.compile(r"[0-9a-f]{24}")


class BlobKind(enum.Enum):
    """The files a job can have."""

    UPLOAD = "upload"
    RESULT = "result"
    DETECTIONS = "detections"


class BlobStore:
    """Encrypt, decrypt and erase a job's files; the blob's context binds it to its job and kind."""

    def __init__(self, key: bytes, blob_dir: Path, work_dir: Path) -> None:
        self._key = key
        self.blob_dir = blob_dir
        self.work_dir = work_dir
        for folder in (blob_dir, work_dir):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)

    def path(self, job_id: str, kind: BlobKind) -> Path:
        """Return where the blob of ``kind`` of ``job_id`` is stored."""
        if not job_id.isalnum():
            raise ValueError(f"job id {job_id!r} is not alphanumeric")
        return self.blob_dir / f"{job_id}.{kind.value}"

    def put(self, job_id: str, kind: BlobKind, plaintext: Path, dst: Path | None = None) -> str:
        """Encrypt ``plaintext`` into the job's blob (or ``dst``); return the plaintext sha256."""
        with plaintext.open("rb") as src:
            return encrypt_file(self._key, src, dst or self.path(job_id, kind), f"{job_id}/{kind.value}")

    def decrypt_to(self, job_id: str, kind: BlobKind, dst: Path, blob: Path | None = None) -> str:
        """Decrypt the job's blob (or ``blob``) into ``dst``; return the plaintext sha256."""
        return decrypt_file(self._key, blob or self.path(job_id, kind), dst, f"{job_id}/{kind.value}")

    def stream(self, job_id: str, kind: BlobKind) -> Iterator[bytes]:
        """Yield the job's blob decrypted, chunk by chunk (a tampered blob raises BlobCorruptError)."""
        return decrypt_chunks(self._key, self.path(job_id, kind), f"{job_id}/{kind.value}")

    def digest(self, job_id: str, kind: BlobKind, blob: Path | None = None) -> str:
        """Return the sha256 of the job's blob (or ``blob``) decrypted, authenticating every chunk."""
        digest = hashlib.sha256()
        for chunk in decrypt_chunks(self._key, blob or self.path(job_id, kind), f"{job_id}/{kind.value}"):
            digest.update(chunk)
        return digest.hexdigest()

    def exists(self, job_id: str, kind: BlobKind) -> bool:
        """Return whether the job has a blob of ``kind``."""
        return self.path(job_id, kind).is_file()

    def erase(self, job_id: str, *kinds: BlobKind) -> None:
        """Delete the job's blobs of ``kinds`` (all kinds when none given) and its scratch folder."""
        for kind in kinds or tuple(BlobKind):
            final = self.path(job_id, kind)
            for path in (final, *(final.with_name(final.name + s) for s in _PARTIAL_SUFFIXES)):
                path.unlink(missing_ok=True)
        if not kinds:
            self.erase_scratch(job_id)

    def job_scratch(self, job_id: str) -> Path:
        """Return the job's scratch folder ``work/<job>`` (each attempt works in a folder inside it)."""
        if not job_id.isalnum():
            raise ValueError(f"job id {job_id!r} is not alphanumeric")
        return self.work_dir / job_id

    def erase_scratch(self, job_id: str) -> None:
        """Delete the job's plaintext scratch folder, whichever attempt left it."""
        shutil.rmtree(self.job_scratch(job_id), ignore_errors=True)

    def stored(self) -> Iterator[tuple[str, Path]]:
        """Yield (job id, file) for every file under ``blobs/`` (final, staged or partly written)."""
        for entry in self.blob_dir.iterdir():
            job_id = entry.name.split(".", 1)[0]
            if entry.is_file() and _JOB_ID.fullmatch(job_id):
                yield job_id, entry

    def scratch_jobs(self) -> Iterator[str]:
        """Yield the ids of the jobs that have a scratch folder under ``work/``."""
        for entry in self.work_dir.iterdir():
            if entry.is_dir() and _JOB_ID.fullmatch(entry.name):
                yield entry.name

    def scratch(self, name: str) -> Path:
        """Return a new owner-only scratch folder under ``work/`` (the caller removes it)."""
        path = self.work_dir / name if name else Path(tempfile.mkdtemp(prefix="request-", dir=self.work_dir))
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def clear_scratch(self) -> None:
        """Remove all plaintext scratch space (at start-up, when no request or job uses it)."""
        for entry in self.work_dir.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
