"""Small parts: options mapping, rate limiter, webhook signatures, filenames, listen checks, imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from veil.errors import ConfigError
from veil.pipeline.config import FailMode, Method
from veil.service.multipart_form import safe_filename
from veil.service.options import build_config
from veil.service.ratelimit import RateLimiter
from veil.service.server import check_listen
from veil.service.webhooks import check_webhook_url, post_once, sign, verify_signature
from veil.types import ObjectClass

SRC = Path(__file__).resolve().parents[3] / "src" / "veil"


def test_form_options_map_like_the_cli() -> None:
    config = build_config(
        {
            "targets": "face,person",
            "method": "face=mask,person=pixelate",
            "threshold": "face=0.2",
            "on_error": "hide-frame",
            "tile": "true",
            "no_audio": "1",
        }
    )
    assert config.targets == frozenset({ObjectClass.FACE, ObjectClass.PERSON})
    assert config.method_for(ObjectClass.FACE) is Method.MASK
    assert config.method_for(ObjectClass.PERSON) is Method.PIXELATE
    assert config.policy.threshold(ObjectClass.FACE) == 0.2
    assert config.policy.fail_mode is FailMode.HIDE_FRAME
    assert config.detection.tile and not config.keep_audio and config.strip_location


def test_form_privacy_level_expands_like_the_cli() -> None:
    config = build_config({"privacy": "strict", "margin": "0.1"})
    assert config.temporal.detect_every == 2
    assert config.policy.threshold(ObjectClass.FACE) == 0.25
    assert (config.policy.margin_ratio, config.policy.propagated_margin_ratio) == (0.1, 0.2)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"colour": "red"}, "colour"),
        ({"method": "smudge"}, "smudge"),
        ({"threshold": "2"}, "threshold"),
        ({"margin": "lots"}, "margin"),
        ({"codec": "rawvideo"}, "codec"),
        ({"crf": "99"}, "crf"),
        ({"tile": "maybe"}, "tile"),
        ({"targets": "ghost"}, "ghost"),
        ({"privacy": "paranoid"}, "privacy"),
    ],
)
def test_bad_options_name_the_problem(options: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        build_config(options)


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("k") == pytest.approx(1.0)
    assert limiter.take("other") == 0.0
    now[0] = 1.0
    assert limiter.take("k") == 0.0


def test_webhook_signatures_expire_and_bind_the_body() -> None:
    header = sign("s3cret", b"{}", 1000)
    assert verify_signature("s3cret", b"{}", header, now=1100)
    assert not verify_signature("s3cret", b"{ }", header, now=1100)
    assert not verify_signature("s3cret", b"{}", header, now=2000)
    assert not verify_signature("s3cret", b"{}", "garbage", now=1000)


@pytest.mark.parametrize("url", ["ftp://host/x", "file:///etc/passwd", "/relative", "http://user:pw@host/"])
def test_webhook_urls_must_be_plain_http(url: str) -> None:
    with pytest.raises(ValueError, match="webhook_url"):
        check_webhook_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://100.64.0.1/hook",  # carrier-grade NAT
        "http://[::1]/hook",
        "http://[fc00::1]/hook",
        # IPv6 forms that carry an internal IPv4 address: mapped, translated, compatible, NAT64, 6to4.
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:0:10.0.0.1]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[2002:c0a8:a::]/hook",
    ],
)
def test_webhooks_go_to_public_addresses_only_unless_allowed(url: str) -> None:
    with pytest.raises(ValueError, match=r"resolves to .*--allow-private-webhooks"):
        check_webhook_url(url)
    assert check_webhook_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # AWS, GCP, Azure, OCI instance metadata
        "http://[fe80::1]/hook",
        "http://168.63.129.16/machine",  # Azure wire server
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud
        "http://[fd00:ec2::254]/latest/meta-data/",  # AWS over IPv6
        "http://[64:ff9b::a9fe:a9fe]/latest/",  # NAT64 of 169.254.169.254
        "http://[2002:a9fe:a9fe::]/latest/",  # 6to4 of it
        "http://[::ffff:169.254.169.254]/latest/",
        "http://[::169.254.169.254]/latest/",
        "http://[64:ff9b:1::a9fe:a9fe]/latest/",  # local-use NAT64
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_link_local_metadata_and_non_unicast_addresses_are_refused_always(url: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(ValueError, match="resolves to"):
            check_webhook_url(url, allow_private=allow_private)


def test_public_and_unresolvable_webhook_hosts() -> None:
    assert check_webhook_url("https://93.184.216.34/hook") == "https://93.184.216.34/hook"
    assert check_webhook_url("https://[64:ff9b::5db8:d822]/hook")  # NAT64 of a public address
    with pytest.raises(ValueError, match="cannot be resolved"):
        check_webhook_url("https://no-such-host.invalid/hook")


def test_a_webhook_to_a_private_address_is_not_sent() -> None:
    attempt = post_once("http://127.0.0.1:9/hook", "s3cret", b"{}", "whd_1")
    assert not attempt.delivered and not attempt.retry and "non-public" in attempt.detail


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\clip.mp4", "clip.mp4"),
        ("..", "upload"),
        ("a\0b\n.mp4", "a_b_.mp4"),
    ],
)
def test_client_file_names_never_become_paths(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_plain_http_only_with_insecure_on_loopback(tmp_path: Path) -> None:
    check_listen("127.0.0.1", None, None, insecure=True)
    check_listen("::1", None, None, insecure=True)
    with pytest.raises(ConfigError, match="loopback"):
        check_listen("0.0.0.0", None, None, insecure=True)
    with pytest.raises(ConfigError, match="insecure"):
        check_listen("127.0.0.1", None, None, insecure=False)
    with pytest.raises(ConfigError, match="both"):
        check_listen("0.0.0.0", tmp_path / "cert.pem", None, insecure=False)
