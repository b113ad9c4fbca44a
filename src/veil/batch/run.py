"""Drive a batch: plan inputs and segments in the manifest, run the units on an engine, join, verify.

The output folder holds the outputs (the inputs' trees mirrored) and a hidden run directory,
``.veil-batch/``, with the manifest and the segments' part files. A re-run with the same settings
redoes only what the manifest does not record as done and verified.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from veil.anonymizers.base import Anonymizer
from veil.batch.engines import BatchEngine, open_engine
from veil.batch.join import join_segments, verify_video
from veil.batch.manifest import Manifest, State
from veil.batch.segments import Segment, VideoIndex, context_frames, index_video, plan_segments
from veil.batch.sources import BatchInput, expand_sources
from veil.batch.work import TIME_TOLERANCE_S, TIMED_SUFFIXES, Unit, UnitResult
from veil.checks import check_range
from veil.detection.base import Detector
from veil.errors import ConfigError, OutputError, VeilError
from veil.pipeline.config import PipelineConfig, RunOptions
from veil.pipeline.runner import NullProgress, Progress, detections_path
from veil.video.atomic import write_text_atomically
from veil.video.output_plan import plan_output
from veil.video.probe import MediaKind, probe_media
from veil.video.reader import VideoReader

__all__ = ["RUN_DIR", "BatchReport", "BatchSettings", "InputReport", "run_batch"]

RUN_DIR = ".veil-batch"
"""The run directory's name inside the output folder (hidden: folder runs never read it)."""

# Track ids restart in every segment; this offset keeps one segment's tracks apart from the next's in
# the merged detections JSON.
_TRACK_ID_STRIDE = 1_000_000


@dataclass(frozen=True)
class BatchSettings:
    """How a batch runs.

    Args:
        engine: local processes or a Ray cluster.
        workers: workers (processes, or Ray actors) running units at once.
        address: the Ray head (``HOST:PORT``); None starts a Ray instance on this machine.
        segment_s: videos longer than one and a half of this are split into segments of about it.
    """

    engine: BatchEngine = BatchEngine.LOCAL
    workers: int = 1
    address: str | None = None
    segment_s: float = 60.0

    def __post_init__(self) -> None:
        check_range("workers", self.workers, 1, 4096)
        check_range("segment_s", self.segment_s, 1.0, 86_400.0)


@dataclass
class InputReport:
    """How one input went: its frames, segments, the units re-run, its time, and its error if any."""

    src: str
    dst: str
    state: str
    frames: int = 0
    segments: int = 0
    retries: int = 0
    elapsed_s: float = 0.0
    reused: bool = False
    error: str | None = None


@dataclass
class BatchReport:
    """One report per input, and the inputs named that could not be used at all."""

    inputs: list[InputReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def failures(self) -> list[str]:
        """``SRC: reason`` for every input that failed."""
        return [f"{r.src}: {r.error}" for r in self.inputs if r.state == State.FAILED.value]

    @property
    def frames(self) -> int:
        """Frames written (or listed, detect-only) over all inputs."""
        return sum(r.frames for r in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values."""
        return {
            "inputs": [asdict(r) for r in self.inputs],
            "frames": self.frames,
            "failures": self.failures,
            "warnings": list(self.warnings),
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass
class _Planned:
    """One input this run works on: its row, what is left to run, and what its output needs."""

    item: BatchInput
    input_id: int
    dst: Path
    options: RunOptions
    units: list[Unit]
    segments: list[Segment] = field(default_factory=list)
    index: VideoIndex | None = None
    remaining: int = 0
    failed: str | None = None
    frames: int = 0
    elapsed_s: float = 0.0


def run_batch(
    sources: Sequence[str | Path],
    out_dir: Path,
    config: PipelineConfig,
    options: RunOptions | None = None,
    settings: BatchSettings | None = None,
    progress: Progress | None = None,
    *,
    detector: Detector | None = None,
    anonymizer: Anonymizer | None = None,
) -> BatchReport:
    """Anonymize every input ``sources`` names into ``out_dir``, resumably; see the module docstring.

    An input that fails is reported (``report.failures``) and the others finish.

    Raises:
        ConfigError: two inputs would write one output, or the engine cannot start.
        OutputError: the output folder or its manifest cannot be written.
    """
    options = options or RunOptions()
    settings = settings or BatchSettings()
    progress = progress or NullProgress()
    if options.preview is not None:
        raise ConfigError("a batch writes no contact sheet: leave out preview")
    if config.obfuscator is not None:
        # Its workers would need the obfuscator's model built beside the pipeline's; refused rather
        # than run with detection instead.
        raise ConfigError("veil batch does not run the obfuscator yet: use veil anonymize for it")
    started = time.perf_counter()
    found = expand_sources(sources)
    report = BatchReport()
    for label, reason in found.failures:
        report.inputs.append(InputReport(label, "", State.FAILED.value, error=reason))
    if found.others:
        report.warnings.append(f"left out {len(found.others)} file(s) that are not images or videos")
    _check_out_dir(out_dir, found.inputs, options)
    run_dir = out_dir / RUN_DIR
    fingerprint = json.dumps(
        {
            "config": _canonical(config),
            "options": _canonical(options),
            "segment_s": settings.segment_s,
            "detector": None if detector is None else type(detector).__qualname__,
            "anonymizer": None if anonymizer is None else type(anonymizer).__qualname__,
        },
        sort_keys=True,
    )
    with Manifest(run_dir / "manifest.sqlite", fingerprint) as manifest:
        planned: list[_Planned] = []
        for item in found.inputs:
            entry = _plan(item, out_dir, run_dir, config, options, settings, manifest, report)
            if entry is not None:
                planned.append(entry)
        units = [u for p in planned for u in p.units]
        progress.start("batch", sum(_unit_frames(u) for u in units) or None)
        if units:
            engine = open_engine(
                settings.engine, config, settings.workers, settings.address, detector, anonymizer
            )
            try:
                by_id = {p.input_id: p for p in planned}
                for unit in units:
                    manifest.started(unit.input_id, unit.number)
                for result in engine.run(units):
                    _record(result, by_id[result.input_id], manifest, config)
                    progress.advance(result.frames)
            finally:
                engine.close()
        for entry in planned:
            row = manifest.get(entry.input_id)
            report.inputs.append(
                InputReport(
                    str(entry.item.src),
                    str(entry.dst),
                    row.state.value,
                    frames=entry.frames,
                    segments=len(entry.segments),
                    retries=max(0, manifest.segment_attempts(entry.input_id) - len(entry.segments))
                    + max(0, row.attempts - 1),
                    elapsed_s=round(row.elapsed_s, 3),
                    error=row.error,
                )
            )
    report.inputs.sort(key=lambda r: r.src)
    report.elapsed_s = time.perf_counter() - started
    return report


def _canonical(value: object) -> object:
    """Return ``value`` as JSON-ready data that is the same in every process (sets sorted).

    ``repr`` of a frozenset of enums follows string hashing, which differs from process to process:
    a re-run would never recognise its own manifest.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # A field kept out of repr is a secret (the token method's key): only its digest is recorded.
        return {
            f.name: _canonical(getattr(value, f.name)) if f.repr else _digest(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, Mapping):
        return sorted([_canonical(k), _canonical(v)] for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _digest(value: object) -> str | None:
    if value is None:
        return None
    data = value if isinstance(value, bytes) else repr(value).encode()
    return hashlib.sha256(data).hexdigest()


def _check_out_dir(out_dir: Path, inputs: Sequence[BatchInput], options: RunOptions) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"output folder {out_dir} is a file")
    for item in inputs:
        if (out_dir / item.rel).resolve() == item.src.resolve():
            raise OutputError(f"output {out_dir / item.rel} is the input itself")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {out_dir}: {exc.strerror}") from exc


def _unit_frames(unit: Unit) -> int:
    if unit.segment is not None:
        return unit.segment.frames
    return 1 if unit.index is None else unit.index.frame_count


def _given_for(item: BatchInput, options: RunOptions) -> RunOptions:
    """The detections file of ``item`` when ``from_detections`` names a folder mirroring the inputs."""
    given = options.from_detections
    if given is None or not given.is_dir():
        return options
    return replace(options, from_detections=given / item.rel.parent / f"{item.src.stem}.detections.json")


def _outputs_exist(dst: Path, src: Path, options: RunOptions) -> bool:
    if options.detect_only:
        return detections_path(src, dst, detect_only=True).exists()
    return dst.exists() and (not options.write_detections or detections_path(src, dst).exists())


def _plan(
    item: BatchInput,
    out_dir: Path,
    run_dir: Path,
    config: PipelineConfig,
    options: RunOptions,
    settings: BatchSettings,
    manifest: Manifest,
    report: BatchReport,
) -> _Planned | None:
    """Record ``item`` in the manifest and return what is left to do for it (None: done before)."""
    dst = out_dir / item.rel
    if options.detect_only:
        dst = dst.with_name(f"{item.src.stem}.detections.json")
    per_input = _given_for(item, options)
    row = manifest.input_for(item.src, dst)
    if row.state is State.DONE and _outputs_exist(dst, item.src, options):
        report.inputs.append(
            InputReport(
                str(item.src),
                str(dst),
                row.state.value,
                frames=row.frames or 0,
                segments=len(manifest.segments(row.id)),
                elapsed_s=round(row.elapsed_s, 3),
                reused=True,
            )
        )
        return None
    if row.state is not State.PENDING:
        manifest.reopen(row.id)
    dst.parent.mkdir(parents=True, exist_ok=True)
    entry = _Planned(item, row.id, dst, per_input, units=[])
    try:
        is_video = probe_media(item.src) is MediaKind.VIDEO
        index = index_video(item.src) if is_video and _segmentable(dst, options) else None
    except VeilError as exc:
        manifest.finish(row.id, State.FAILED, error=str(exc))
        entry.failed = str(exc)
        return entry
    temporal = config.temporal
    before, after = context_frames(temporal.lookahead_frames, temporal.hold_frames, temporal.detect_every)
    segments = (
        None
        if index is None
        else plan_segments(
            index, settings.segment_s, before=before, after=after, detect_every=temporal.detect_every
        )
    )
    if segments is None or index is None:
        entry.units = [Unit(row.id, item.src, dst, per_input, index=index)]
        entry.remaining = 1
        return entry
    entry.segments, entry.index = segments, index
    pending = {s.number for s in manifest.set_segments(row.id, index.frame_count, segments)}
    parts = run_dir / "parts" / str(row.id)
    parts.mkdir(parents=True, exist_ok=True)
    for segment in segments:
        unit = Unit(
            row.id,
            item.src,
            parts / f"{segment.number:05d}{dst.suffix}",
            per_input,
            segment=segment,
            index=index,
            json_path=parts / f"{segment.number:05d}.detections.json"
            if options.write_detections or options.detect_only
            else None,
        )
        if segment.number in pending or not _part_exists(unit):
            entry.units.append(unit)
    entry.remaining = len(entry.units)
    if entry.remaining == 0:  # every segment was done before: only the join is left
        _finish(entry, manifest, config)
    return entry


def _segmentable(dst: Path, options: RunOptions) -> bool:
    """Whether ``dst`` is a container whose segments join by copying packets with their own times."""
    return options.detect_only or dst.suffix.lower() in TIMED_SUFFIXES - {".mkv", ".webm"}


def _part_exists(unit: Unit) -> bool:
    video = unit.options.detect_only or unit.dst.exists()
    return video and (unit.json_path is None or unit.json_path.exists())


def _record(result: UnitResult, entry: _Planned, manifest: Manifest, config: PipelineConfig) -> None:
    """Record one unit's result; once the input's last unit lands, join and verify its output."""
    entry.remaining -= 1
    entry.elapsed_s += result.elapsed_s
    if result.error is not None:
        if entry.failed is None:
            entry.failed = result.error
            manifest.finish(entry.input_id, State.FAILED, error=result.error, elapsed_s=entry.elapsed_s)
        return
    if result.number < 0:
        entry.frames = result.frames
        manifest.finish(entry.input_id, State.DONE, elapsed_s=entry.elapsed_s, frames=result.frames)
        return
    # A verified segment stays done even when another of its input's failed: a re-run reuses it.
    manifest.segment_done(entry.input_id, result.number, result.elapsed_s)
    if entry.remaining == 0 and entry.failed is None:
        _finish(entry, manifest, config)


def _finish(entry: _Planned, manifest: Manifest, config: PipelineConfig) -> None:
    """Join the segments of ``entry`` (and their detections), verify the result, mark the input done."""
    assert entry.index is not None
    index, src, dst, options = entry.index, entry.item.src, entry.dst, entry.options
    parts = [
        manifest.path.parent / "parts" / str(entry.input_id) / f"{s.number:05d}{dst.suffix}"
        for s in entry.segments
    ]
    jsons = [p.with_name(f"{p.stem}.detections.json") for p in parts]
    try:
        if not options.detect_only:
            with VideoReader(src, max_pixels=config.max_pixels) as reader:
                rotation = reader.info.rotation_deg
            plan = plan_output(
                dst, src, config.encoder, keep_audio=config.keep_audio, strip_location=config.strip_location
            )
            join_segments(parts, dst, src, plan, strip_location=config.strip_location, rotation_deg=rotation)
            verify_video(dst, index.times(), tolerance_s=TIME_TOLERANCE_S)
        if options.write_detections or options.detect_only:
            _merge_detections(jsons, detections_path(src, dst, detect_only=options.detect_only), index)
    except VeilError as exc:
        entry.failed = str(exc)
        manifest.finish(entry.input_id, State.FAILED, error=str(exc), elapsed_s=entry.elapsed_s)
        return
    entry.frames = index.frame_count
    manifest.finish(entry.input_id, State.DONE, elapsed_s=entry.elapsed_s)


def _merge_detections(parts: Sequence[Path], dst: Path, index: VideoIndex) -> None:
    """Write one detections JSON from the segments' parts, their track ids kept apart."""
    body: dict[str, Any] | None = None
    frames: list[dict[str, Any]] = []
    for number, part in enumerate(parts):
        loaded = json.loads(part.read_text(encoding="utf-8"))
        body = body or loaded
        for frame in loaded["frames"]:
            for region in frame["regions"]:
                if region.get("track_id") is not None:
                    region["track_id"] += number * _TRACK_ID_STRIDE
            frames.append(frame)
    assert body is not None
    if [f["index"] for f in frames] != list(range(index.frame_count)):
        raise OutputError(f"{dst}: the segments' detections do not list every frame once")
    write_text_atomically(dst, json.dumps({**body, "frames": frames}, separators=(",", ":")))
