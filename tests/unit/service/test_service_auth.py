# ruff: noqa: F811 - pytest fixtures imported from service_helpers are redefined as arguments
"""Failed authentication costs the client more than the server: no scrypt, few small audit rows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from service_helpers import Service, service, service_settings  # noqa: F401 - fixtures

from veil.service import keys as keys_module
from veil.service.audit_log import AuditLog
from veil.service.auth_guard import FailedAuthGuard, client_network
from veil.service.db import Database
from veil.service.keys import ApiKeyStore, parse_scopes


class ScryptMeter:
    """Count scrypt runs and the most that ran at once."""

    def __init__(self, real: Callable[[str, bytes], bytes]) -> None:
        self.real = real
        self.calls = 0
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, secret: str, salt: bytes) -> bytes:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return self.real(secret, salt)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def scrypt(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScryptMeter]:
    meter = ScryptMeter(keys_module._hash)
    monkeypatch.setattr(keys_module, "_hash", meter)
    yield meter


def _db_bytes(service: Service) -> int:
    path = service.context.state.settings.db_path
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _flood(service: Service, path: str, token: str, count: int = 200, at_once: int = 40) -> list[int]:
    def one(_: int) -> int:
        return service.client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code

    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(pool.map(one, range(count)))


def test_wrong_secrets_on_a_real_key_id_run_no_scrypt_and_log_few_rows(
    service: Service, scrypt: ScryptMeter
) -> None:
    good = service.key("read")
    key_id = good["Authorization"].split("_")[1]
    assert service.client.get("/v1/jobs", headers=good).status_code == 200  # verified once, cached
    rows, size = len(service.context.state.audit.entries()), _db_bytes(service)
    calls = scrypt.calls
    codes = _flood(service, "/v1/jobs", f"veil_{key_id}_{'x' * 43}")
    assert set(codes) == {401, 429} and codes.count(401) <= 20
    assert scrypt.calls == calls  # a wrong secret never reaches scrypt
    assert len(service.context.state.audit.entries()) - rows <= 3
    assert _db_bytes(service) - size < 100_000
    assert service.client.get("/v1/jobs", headers=good).status_code == 200  # the real key still works


def test_long_paths_with_bad_keys_make_no_large_rows(service: Service) -> None:
    size = _db_bytes(service)
    codes = _flood(service, "/v1/jobs/" + "a" * 60_000, "veil_0123456789ab_wrong")
    assert set(codes) <= {401, 429}
    service.context.auth_guard.flush()
    entries = [e for e in service.context.state.audit.entries() if e.action.startswith("auth")]
    assert 1 <= len(entries) <= 3 and sum(e.detail["count"] for e in entries) == 200
    assert all(len(e.detail["path"]) < 300 for e in entries)
    assert _db_bytes(service) - size < 100_000


def test_repeats_are_one_row_per_window_and_groups_are_bounded(tmp_path: Path) -> None:
    db = Database(tmp_path / "veil.sqlite3")
    log, now = AuditLog(db), [0.0]
    guard = FailedAuthGuard(
        log, per_minute=60, burst=1000, window_s=60, max_rows_per_window=5, clock=lambda: now[0]
    )
    for _ in range(10):
        assert guard.failed("192.0.2.7", "k1", "/v1/jobs", "bad key") == 0
    assert [e.detail["count"] for e in log.entries()] == [1]
    now[0] = 61.0
    guard.flush(due_only=True)
    assert [(e.action, e.detail["count"]) for e in log.entries()] == [("auth", 1), ("auth.repeated", 9)]
    for client in range(1000):  # a flood from many addresses
        guard.failed(f"198.51.100.{client % 250}", f"k{client}", "/", "bad key")
    guard.flush()
    assert len(log.entries()) <= 2 + 5 + 6
    assert sum(e.detail["count"] for e in log.entries()) == 1010
    db.close()


def test_a_client_past_its_failure_budget_gets_429_and_no_row(tmp_path: Path) -> None:
    db = Database(tmp_path / "veil.sqlite3")
    log = AuditLog(db)
    guard = FailedAuthGuard(log, per_minute=1, burst=3, clock=lambda: 0.0)
    waits = [guard.failed("192.0.2.7", f"k{i}", "/", "bad key") for i in range(6)]
    assert waits[:3] == [0, 0, 0] and all(w > 0 for w in waits[3:])
    assert len(log.entries()) == 3
    assert client_network("2001:db8::1") == client_network("2001:db8::ffff") == "2001:db8::/64"
    assert client_network("::ffff:192.0.2.7") == "192.0.2.7"
    db.close()


def test_keys_from_before_the_cheap_check_lock_out_and_scrypt_runs_few_at_once(
    tmp_path: Path, scrypt: ScryptMeter
) -> None:
    db = Database(tmp_path / "veil.sqlite3")
    store = ApiKeyStore(db, bytes(32))
    created = [store.create(f"k{i}", parse_scopes("read")) for i in range(12)]
    db.conn.execute("UPDATE api_keys SET secret_check = NULL")  # as an earlier version stored them
    with ThreadPoolExecutor(max_workers=12) as pool:
        assert all(pool.map(lambda c: store.verify(c.token) is not None, created))
    assert scrypt.most <= 2
    checks = db.conn.execute("SELECT COUNT(*) FROM api_keys WHERE secret_check IS NOT NULL").fetchone()[0]
    assert checks == 12  # recorded at their first verification
    db.conn.execute("UPDATE api_keys SET secret_check = NULL")
    fresh, calls = ApiKeyStore(db, bytes(32)), scrypt.calls
    wrong = created[0].token[:-4] + "AAAA"
    assert all(fresh.verify(wrong) is None for _ in range(20))
    assert scrypt.calls - calls <= 5  # then the key id is locked for a while
    db.close()
