"""Read EXIF orientation and make EXIF safe to attach to an anonymized picture."""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping
from types import MappingProxyType

import piexif
from PIL import Image as PILImage

__all__ = ["DEVICE_ID_TAGS", "ORIENTATION_TO_UPRIGHT", "clean_exif", "valid_orientation"]

_log = logging.getLogger(__name__)

ORIENTATION_TO_UPRIGHT: Mapping[int, PILImage.Transpose] = MappingProxyType(
    {
        2: PILImage.Transpose.FLIP_LEFT_RIGHT,
        3: PILImage.Transpose.ROTATE_180,
        4: PILImage.Transpose.FLIP_TOP_BOTTOM,
        5: PILImage.Transpose.TRANSPOSE,
        6: PILImage.Transpose.ROTATE_270,
        7: PILImage.Transpose.TRANSVERSE,
        8: PILImage.Transpose.ROTATE_90,
    }
)
"""EXIF orientation → the transpose that turns the stored pixels upright (1 needs none)."""

DEVICE_ID_TAGS: Mapping[str, frozenset[int]] = MappingProxyType(
    {
        "0th": frozenset({piexif.ImageIFD.CameraSerialNumber}),
        "Exif": frozenset(
            {
                piexif.ExifIFD.BodySerialNumber,
                piexif.ExifIFD.LensSerialNumber,
                piexif.ExifIFD.CameraOwnerName,
                piexif.ExifIFD.ImageUniqueID,
                # Vendor maker notes are opaque and commonly hold the body serial number.
                piexif.ExifIFD.MakerNote,
            }
        ),
    }
)
"""Tags, by piexif IFD name, that identify the device or its owner; removed with ``strip_location``."""

# piexif raises these on malformed EXIF blocks.
_PIEXIF_ERRORS = (ValueError, KeyError, IndexError, TypeError, struct.error)


def valid_orientation(value: object) -> int:
    """Return ``value`` as an EXIF orientation 1–8; anything else counts as 1 (as stored)."""
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def clean_exif(exif: bytes, *, width: int, height: int, strip_location: bool) -> bytes | None:
    """Return EXIF for an anonymized, upright ``width``×``height`` picture made from one carrying ``exif``.

    Always: orientation becomes 1 (the pixels are saved upright), pixel dimensions are updated, and the
    embedded thumbnail is dropped (it is a small copy of the original, un-anonymized picture). With
    ``strip_location``: the GPS block and the device/owner identifiers in :data:`DEVICE_ID_TAGS` go too.
    Returns None (drop all EXIF) when the block cannot be parsed: what cannot be read cannot be vouched for.
    """
    try:
        tags = piexif.load(exif)
    except _PIEXIF_ERRORS as exc:
        _log.warning("dropping unreadable EXIF (%s: %s)", type(exc).__name__, exc)
        return None
    tags["1st"] = {}
    tags["thumbnail"] = None
    tags["0th"][piexif.ImageIFD.Orientation] = 1
    exif_ifd = tags["Exif"]
    if piexif.ExifIFD.PixelXDimension in exif_ifd or piexif.ExifIFD.PixelYDimension in exif_ifd:
        exif_ifd[piexif.ExifIFD.PixelXDimension] = width
        exif_ifd[piexif.ExifIFD.PixelYDimension] = height
    if strip_location:
        tags["GPS"] = {}
        for ifd, ids in DEVICE_ID_TAGS.items():
            for tag in ids:
                tags[ifd].pop(tag, None)
    try:
        dumped: bytes = piexif.dump(tags)
    except _PIEXIF_ERRORS as exc:
        _log.warning("dropping EXIF that cannot be rewritten (%s: %s)", type(exc).__name__, exc)
        return None
    return dumped
