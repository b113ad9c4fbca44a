"""Decide which container and stream metadata tags survive into an anonymized output."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["clean_metadata", "is_location_key"]

# Substrings of tag names that carry where a recording was made: ``location``/``location-eng`` (MP4 ©xyz),
# ``com.apple.quicktime.location.ISO6709``, Matroska ``LOCATION``, vendor GPS tags.
_LOCATION_MARKERS = ("location", "gps", "iso6709", "latitude", "longitude", "altitude", "geotag")
_LOCATION_NAMES = frozenset({"xyz", "©xyz", "@xyz", "coordinates"})

# Tags the muxer writes itself, or that describe the source encode and are stale after re-encoding.
_REGENERATED = frozenset(
    {
        "encoder",
        "major_brand",
        "minor_version",
        "compatible_brands",
        "duration",
        "number_of_frames",
        "number_of_bytes",
        "bps",
    }
)
_REGENERATED_PREFIXES = ("_statistics_", "bps-", "duration-", "number_of_frames-", "number_of_bytes-")


def is_location_key(key: str) -> bool:
    """Return whether the tag ``key`` can hold a location (GPS coordinates, place)."""
    name = key.strip().lower()
    return name in _LOCATION_NAMES or any(marker in name for marker in _LOCATION_MARKERS)


def _is_regenerated(key: str) -> bool:
    name = key.strip().lower()
    return name in _REGENERATED or name.startswith(_REGENERATED_PREFIXES)


def clean_metadata(tags: Mapping[str, str], *, strip_location: bool) -> dict[str, str]:
    """Return the tags worth copying: without location tags (when asked) and without stale encoder facts."""
    return {
        key: value
        for key, value in tags.items()
        if not _is_regenerated(key) and not (strip_location and is_location_key(key))
    }
