"""Load still images upright as RGB and save anonymized ones in the same format, atomically."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from veil.errors import OutputError, UnreadableMediaError, UnsupportedFrameError
from veil.types import Image
from veil.video.atomic import check_output, discard, partial_path, publish
from veil.video.exif import ORIENTATION_TO_UPRIGHT, clean_exif, valid_orientation
from veil.video.limits import check_frame_size
from veil.video.probe import check_readable_file

__all__ = ["LoadedImage", "load_image", "save_image"]

_log = logging.getLogger(__name__)

_ORIENTATION_TAG = 0x0112
_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
# Pillow reads these but writes one picture of them as the base format.
_SAVE_AS = {"MPO": "JPEG"}
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 95},
    "WEBP": {"quality": 95},
    "TIFF": {"compression": "tiff_lzw"},
    "PNG": {},  # lossless
}


@dataclass(frozen=True)
class LoadedImage:
    """A decoded still image plus what is needed to save an anonymized copy like it.

    Args:
        image: upright H×W×3 uint8 RGB (EXIF orientation already applied).
        path: the file it came from.
        format: Pillow's format name, e.g. "JPEG", "PNG".
        orientation: the EXIF orientation (1–8) that was applied to make ``image`` upright.
        exif: the original EXIF block, untouched; None when there was none.
        icc_profile: the embedded colour profile, if any.
        alpha: upright H×W uint8 transparency, for formats that had it.
        dpi: stored resolution, if any.
    """

    image: Image
    path: Path
    format: str
    orientation: int = 1
    exif: bytes | None = None
    icc_profile: bytes | None = None
    alpha: npt.NDArray[np.uint8] | None = None
    dpi: tuple[float, float] | None = None


def _open(path: Path) -> PILImage.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own pixel limit; Veil's max_pixels check right after decides instead.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            return PILImage.open(path)
    except PILImage.DecompressionBombError as exc:
        raise UnsupportedFrameError(f"{path}: refusing a possible decompression bomb ({exc})") from None
    except (UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise UnreadableMediaError(f"{path}: not an image Pillow can read ({exc})") from exc
    except OSError as exc:
        raise UnreadableMediaError(f"{path}: cannot read the image ({exc})") from exc


def _to_rgb(picture: PILImage.Image) -> tuple[Image, npt.NDArray[np.uint8] | None]:
    """Return RGB pixels and alpha (if the picture has transparency) as C-contiguous arrays."""
    if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grey: Pillow's convert("L") clips rather than scales.
        grey = (np.asarray(picture, dtype=np.float64) / 257.0).clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2)), None
    has_alpha = "A" in picture.getbands() or "transparency" in picture.info
    if has_alpha:
        rgba = np.asarray(picture.convert("RGBA"), dtype=np.uint8)
        return np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    return np.ascontiguousarray(np.asarray(picture.convert("RGB"), dtype=np.uint8)), None


def load_image(path: Path, *, max_pixels: int) -> LoadedImage:
    """Decode the image at ``path`` upright as RGB, refusing oversized ones before decoding pixels.

    Raises:
        UnreadableMediaError: missing, empty, not an image, or truncated/corrupt.
        UnsupportedFrameError: zero or more than ``max_pixels`` pixels (or a decompression bomb).
    """
    path = Path(path)
    check_readable_file(path)
    with _open(path) as picture:
        check_frame_size(picture.width, picture.height, max_pixels, str(path))
        image_format = picture.format or "PNG"
        exif = picture.info.get("exif")
        try:
            orientation = valid_orientation(picture.getexif().get(_ORIENTATION_TAG, 1))
        except (ValueError, OSError, SyntaxError) as exc:
            _log.warning("%s: unreadable EXIF, assuming upright (%s)", path, exc)
            orientation = 1
        try:
            picture.load()
        except (OSError, ValueError, SyntaxError) as exc:
            raise UnreadableMediaError(f"{path}: the image data is corrupt or truncated ({exc})") from exc
        transpose = ORIENTATION_TO_UPRIGHT.get(orientation)
        upright = picture.transpose(transpose) if transpose is not None else picture
        rgb, alpha = _to_rgb(upright)
        icc = picture.info.get("icc_profile")
        dpi = picture.info.get("dpi")
    return LoadedImage(
        image=rgb,
        path=path,
        format=image_format,
        orientation=orientation,
        exif=exif if isinstance(exif, bytes) and exif else None,
        icc_profile=icc if isinstance(icc, bytes) and icc else None,
        alpha=alpha,
        dpi=(float(dpi[0]), float(dpi[1])) if isinstance(dpi, tuple) and len(dpi) == 2 else None,
    )


def _output_format(dst: Path, source_format: str) -> str:
    """Return the format for ``dst``: the one its suffix names, else the source's."""
    by_suffix = PILImage.registered_extensions().get(dst.suffix.lower())
    wanted = by_suffix or source_format
    wanted = _SAVE_AS.get(wanted, wanted)
    if wanted not in PILImage.SAVE:
        raise OutputError(f"cannot write {dst}: Pillow cannot save {wanted} images")
    return wanted


def save_image(dst: Path, image_upright: Image, loaded: LoadedImage, *, strip_location: bool = True) -> None:
    """Save the anonymized ``image_upright`` to ``dst`` in ``loaded``'s format, with its EXIF made safe.

    Pixels are saved upright with EXIF orientation 1, rather than rotated back to the stored
    orientation: a viewer or upload service that ignores or strips EXIF then still shows the picture
    the right way up. The rest of the EXIF stays (camera make, dates…) minus the embedded thumbnail
    — a copy of the original pixels — and, with ``strip_location``, minus GPS and device serial
    numbers. XMP, IPTC and comments are not copied (they can hold places and people's names). JPEG
    is written at quality 95, PNG losslessly. The file appears under ``dst`` only when complete.

    Raises:
        OutputError: ``dst`` is the source file, its folder is unusable, or writing fails.
    """
    dst = Path(dst)
    check_output(dst, loaded.path)
    if image_upright.ndim != 3 or image_upright.shape[2] != 3 or image_upright.dtype != np.uint8:
        raise ValueError(f"image must be H×W×3 uint8 RGB, got {image_upright.shape} {image_upright.dtype}")
    image_format = _output_format(dst, loaded.format)
    height, width = image_upright.shape[:2]
    pixels: npt.NDArray[np.uint8] = image_upright
    alpha = loaded.alpha
    if alpha is not None and image_format in _ALPHA_FORMATS and alpha.shape == (height, width):
        pixels = np.dstack([image_upright, alpha])
    options: dict[str, Any] = dict(_SAVE_OPTIONS.get(image_format, {}))
    if loaded.exif is not None:
        exif = clean_exif(loaded.exif, width=width, height=height, strip_location=strip_location)
        if exif is not None:
            options["exif"] = exif
    if loaded.icc_profile is not None:
        options["icc_profile"] = loaded.icc_profile
    if loaded.dpi is not None:
        options["dpi"] = loaded.dpi
    partial = partial_path(dst)
    try:
        PILImage.fromarray(np.ascontiguousarray(pixels)).save(partial, format=image_format, **options)
    except (OSError, ValueError, KeyError) as exc:
        discard(partial)
        raise OutputError(f"cannot write {dst}: {exc}") from exc
    except BaseException:
        discard(partial)
        raise
    publish(partial, dst)
