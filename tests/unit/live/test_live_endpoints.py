"""SOURCE and DEST strings map to the right kind, muxer and options; bad ones fail with useful messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from veil.errors import ConfigError, OutputError
from veil.live.endpoints import SourceKind, parse_destination, parse_source, redact


@pytest.mark.parametrize(
    ("text", "kind", "fmt"),
    [
        ("/dev/video0", SourceKind.DEVICE, "video4linux2"),
        ("v4l2:/dev/video2", SourceKind.DEVICE, "video4linux2"),
        ("rtsp://cam.local/stream", SourceKind.NETWORK, None),
        ("udp://127.0.0.1:5000", SourceKind.NETWORK, None),
        ("tcp://127.0.0.1:5000?listen=1", SourceKind.NETWORK, None),
        ("https://example.org/live.ts", SourceKind.NETWORK, None),
        ("clip.mp4", SourceKind.FILE, None),
        ("file:///tmp/clip.mp4", SourceKind.FILE, None),
    ],
)
def test_sources_are_classified(text: str, kind: SourceKind, fmt: str | None) -> None:
    source = parse_source(text)
    assert (source.kind, source.format) == (kind, fmt)


def test_rtsp_goes_over_tcp_and_given_options_override_the_defaults() -> None:
    assert parse_source("rtsp://cam/stream").options["rtsp_transport"] == "tcp"
    udp = parse_source("udp://127.0.0.1:5000", {"probesize": "32768", "fflags": "nobuffer"})
    assert (udp.options["probesize"], udp.options["fflags"]) == ("32768", "nobuffer")


def test_device_and_file_paths_are_opened_as_given() -> None:
    assert parse_source("v4l2:/dev/video2").url == "/dev/video2"
    assert parse_source("file:///tmp/clip.mp4").url == "/tmp/clip.mp4"


def test_an_unknown_scheme_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"gopher://.*rtsp://.*udp://"):
        parse_source("gopher://host/x")


def test_passwords_never_show_in_labels() -> None:
    source = parse_source("rtsp://admin:s3cret@10.0.0.2:554/live")
    assert "s3cret" not in source.label
    assert source.label == "rtsp://admin:***@10.0.0.2:554/live"
    assert redact("udp://127.0.0.1:5000") == "udp://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("udp://127.0.0.1:5000?pkt_size=1316", "mpegts"),
        ("tcp://127.0.0.1:5000", "mpegts"),
        ("rtmp://server/app/key", "flv"),
        ("out.ts", "mpegts"),
        ("out.mkv", "matroska"),
    ],
)
def test_destinations_pick_their_muxer(text: str, fmt: str) -> None:
    dest = parse_destination(text)
    assert dest.format == fmt
    assert dest.is_file == ("://" not in text)


def test_a_file_destination_keeps_its_path() -> None:
    assert parse_destination("/tmp/x/out.mp4").path == Path("/tmp/x/out.mp4")


def test_a_file_destination_needs_a_video_suffix() -> None:
    with pytest.raises(OutputError, match=r"\.txt.*\.ts"):
        parse_destination("out.txt")


def test_an_unknown_destination_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="gopher://"):
        parse_destination("gopher://host/x")
