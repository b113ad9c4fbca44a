"""Scramble an image or video file into a lossless output and its region list; restore it with the key."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from veil.detections import Detections
from veil.errors import ConfigError, PrivacyError, UnreadableMediaError
from veil.pipeline.config import EncoderConfig, FailMode, PipelineConfig
from veil.pipeline.detections_json import DetectionsFile, read_detections
from veil.pipeline.frame_processor import FrameProcessor
from veil.pipeline.loop import run_stages
from veil.pipeline.reviewed import ReviewedRegions, listed_regions, regions_of_frame
from veil.pipeline.temporal import FrameRegions
from veil.scramble.cipher import (
    SALT_BYTES,
    FrameSeal,
    RegionScrambler,
    derive_keys,
    regions_of,
    unscramble_frame,
)
from veil.scramble.region_list import RegionList, read_region_list, region_list_path, write_region_list
from veil.types import Image
from veil.video.image_io import load_image, save_image
from veil.video.probe import MediaKind, probe_media
from veil.video.reader import VideoReader
from veil.video.writer import VideoWriter

__all__ = ["LOSSLESS_OUTPUTS", "ScrambleReport", "scramble_file", "unscramble_file"]

LOSSLESS_OUTPUTS = ".png (images), .mkv (video, written as FFV1 RGB)"
_IMAGE_SUFFIXES = frozenset({".png"})
_VIDEO_SUFFIXES = frozenset({".mkv"})
# FFV1 is lossless in every mode; written as RGB (bgr0) it returns every pixel as it was encoded.
_LOSSLESS_VIDEO = EncoderConfig(codec="ffv1")


@dataclass(frozen=True)
class ScrambleReport:
    """What a scramble or unscramble run did: frames written, regions encrypted or restored, the list."""

    frames: int
    regions: int
    region_list: Path


def scramble_file(
    config: PipelineConfig,
    make_processor: Callable[[RegionScrambler], FrameProcessor],
    src: Path,
    dst: Path,
    secret: bytes,
    *,
    regions_path: Path | None = None,
    from_detections: Path | None = None,
) -> ScrambleReport:
    """Encrypt every target region of ``src`` into ``dst`` (lossless) and write its region list.

    ``make_processor`` builds the frame processor around the scrambler (detectors are loaded only when
    no ``from_detections`` file gives the regions).

    Raises:
        ConfigError: ``dst`` is not a lossless output, or the fail mode would write frames that
            ``unscramble`` could not tell from scrambled ones.
    """
    is_image = probe_media(src) is MediaKind.IMAGE
    _check_lossless(dst, is_image)
    if config.policy.fail_mode is not FailMode.ABORT:
        raise ConfigError("scramble needs --on-error abort: a frame hidden whole could never be restored")
    listed = region_list_path(dst) if regions_path is None else regions_path
    salt = os.urandom(SALT_BYTES)
    pixel_key, _ = derive_keys(secret, salt)
    scrambler = RegionScrambler(pixel_key)
    processor = make_processor(scrambler)
    given = read_detections(from_detections) if from_detections is not None else None
    if is_image:
        size, seals = _scramble_image(processor, scrambler, src, dst, given)
    else:
        size, seals = _scramble_video(processor, scrambler, src, dst, given)
    write_region_list(listed, secret, RegionList(size[0], size[1], salt, tuple(seals)))
    return ScrambleReport(len(seals), regions_of(seals), listed)


def unscramble_file(
    src: Path, dst: Path, secret: bytes, *, regions_path: Path | None = None, max_pixels: int = 8192 * 8192
) -> ScrambleReport:
    """Restore the scrambled regions of ``src`` into ``dst`` (lossless), bit-exactly.

    Raises:
        UnreadableMediaError: the region list is missing, or a region's pixels were changed.
        ConfigError: the key does not open the region list, or ``dst`` is not lossless.
    """
    listed = region_list_path(src) if regions_path is None else regions_path
    is_image = probe_media(src) is MediaKind.IMAGE
    _check_lossless(dst, is_image)
    regions = read_region_list(listed, secret)
    pixel_key, _ = derive_keys(secret, regions.salt)
    seals = regions.by_index()
    if is_image:
        loaded = load_image(src, max_pixels=max_pixels)
        _check_size(regions, loaded.image, src)
        restored = unscramble_frame(loaded.image, seals.get(0, FrameSeal(0)), pixel_key)
        save_image(dst, restored, loaded, strip_location=False)
        return ScrambleReport(1, regions_of(list(seals.values())), listed)
    frames = 0
    with VideoReader(src, max_pixels=max_pixels) as reader:
        info = reader.info
        with VideoWriter(dst, src, info, _LOSSLESS_VIDEO, strip_location=False) as writer:
            for frame in reader:
                if frames == 0:
                    _check_size(regions, frame.image, src)
                writer.write(
                    frame, unscramble_frame(frame.image, seals.get(frame.index, FrameSeal(0)), pixel_key)
                )
                frames += 1
            if frames != len(regions.seals):
                raise UnreadableMediaError(
                    f"{src.name} has {frames} frames but its region list {len(regions.seals)}: "
                    "frames were cut or added"
                )
            writer.commit()
    return ScrambleReport(frames, regions_of(list(seals.values())), listed)


def _check_lossless(dst: Path, is_image: bool) -> None:
    suffixes = _IMAGE_SUFFIXES if is_image else _VIDEO_SUFFIXES
    if dst.suffix.lower() not in suffixes:
        kind = "an image" if is_image else "a video"
        raise ConfigError(
            f"{dst.name}: scrambled regions survive only lossless coding; for {kind} write "
            f"{' or '.join(sorted(suffixes))} ({LOSSLESS_OUTPUTS}). A lossy codec changes the ciphertext "
            "and the regions could never be restored"
        )


def _check_size(regions: RegionList, image: Image, src: Path) -> None:
    height, width = image.shape[:2]
    if (regions.width, regions.height) != (width, height):
        raise UnreadableMediaError(
            f"{src.name} is {width}×{height} but its region list is for {regions.width}×{regions.height}"
        )


def _given(file: DetectionsFile | None, image: Image, index: int, src: Path) -> Detections | None:
    if file is None:
        return None
    height, width = image.shape[:2]
    return regions_of_frame(listed_regions(file, width, height, src), index, src)


def _scramble_image(
    processor: FrameProcessor, scrambler: RegionScrambler, src: Path, dst: Path, given: DetectionsFile | None
) -> tuple[tuple[int, int], list[FrameSeal]]:
    loaded = load_image(src, max_pixels=processor.config.max_pixels)
    scrambler.begin(0)
    result = processor.process(loaded.image, 0, _given(given, loaded.image, 0, src))
    seal = scrambler.take()
    save_image(dst, result.image, loaded, strip_location=processor.config.strip_location)
    height, width = loaded.image.shape[:2]
    return (width, height), [seal]


def _scramble_video(
    processor: FrameProcessor, scrambler: RegionScrambler, src: Path, dst: Path, given: DetectionsFile | None
) -> tuple[tuple[int, int], list[FrameSeal]]:
    config = processor.config
    seals: list[FrameSeal] = []
    with VideoReader(src, max_pixels=config.max_pixels) as reader:
        info = reader.info
        with VideoWriter(
            dst,
            src,
            info,
            _LOSSLESS_VIDEO,
            keep_audio=config.keep_audio,
            strip_location=config.strip_location,
        ) as writer:

            def write(item: FrameRegions) -> None:
                frame = item.frame
                if item.regions is None:  # detection failed on this frame; never under FailMode.ABORT
                    raise PrivacyError(f"frame {frame.index}: detection failed; nothing written")
                scrambler.begin(frame.index)
                writer.write(frame, processor.process(frame.image, frame.index, item.regions).image)
                seals.append(scrambler.take())

            if given is not None:
                run_stages(
                    reader, ReviewedRegions(listed_regions(given, info.width, info.height, src), src), write
                )
            else:
                engine = processor.temporal_engine()
                try:
                    run_stages(reader, engine, write)
                finally:
                    engine.close()
            writer.commit()
    return (info.width, info.height), seals
