from __future__ import annotations

import pytest

from veil.video.metadata import clean_metadata, is_location_key


@pytest.mark.parametrize(
    "key",
    [
        "location",
        "location-eng",
        "LOCATION",
        "com.apple.quicktime.location.ISO6709",
        "com.apple.quicktime.location.name",
        "GPSCoordinates",
        "gps_latitude",
        "©xyz",
    ],
)
def test_location_keys_are_recognised(key: str) -> None:
    assert is_location_key(key)


@pytest.mark.parametrize("key", ["title", "creation_time", "artist", "comment", "handler_name", "language"])
def test_ordinary_keys_are_not_location(key: str) -> None:
    assert not is_location_key(key)


def test_clean_metadata_strips_location_and_stale_encoder_facts() -> None:
    tags = {
        "title": "Holiday",
        "creation_time": "2021-01-14T00:00:55.000000Z",
        "location": "+48.8584+002.2945/",
        "location-eng": "+48.8584+002.2945/",
        "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
        "encoder": "Lavf59",
        "major_brand": "isom",
        "DURATION": "00:00:01.000",
        "_STATISTICS_TAGS": "BPS",
    }
    assert clean_metadata(tags, strip_location=True) == {
        "title": "Holiday",
        "creation_time": "2021-01-14T00:00:55.000000Z",
    }
    kept = clean_metadata(tags, strip_location=False)
    assert kept["location"] == "+48.8584+002.2945/"
    assert "encoder" not in kept
    assert tags["location"] == "+48.8584+002.2945/"  # input untouched


def test_clean_metadata_of_nothing_is_nothing() -> None:
    assert clean_metadata({}, strip_location=True) == {}
