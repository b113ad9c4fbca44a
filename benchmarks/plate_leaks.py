"""Readable plates left in anonymized video, found without annotations and without Veil's detectors.

On every Nth frame of the original, RapidOCR's full PP-OCRv4 pipeline (text detection, then
recognition) reads the frame upscaled 2×, so small, far-away plates count. A reading of 5–8 letters or
digits with at least 2 of each is a *plate candidate* (words such as a "GOLF" badge, and bare numbers,
are not). A candidate has *leaked* when the recognizer, on the same place of the anonymized frame (crop
at 1× and 2×), reads at least half of its characters. The row ``copy`` attacks the original itself: the
ceiling, what a method that hides nothing leaks.

The rule also admits road signs ("EXIT 42"). ``plate_candidates_reviewed.json`` lists the candidates a
person looked at and found not to be plates (by clip, text and, where given, frame); their leaks are
counted apart, as ``signs``, and every candidate not listed there counts as a plate.

Per clip and per privacy level (and deface, when ``bench_out/deface-venv`` holds it). Outputs go to
``bench_out/runs/CLIP_LEVEL`` with their detections JSON, where ``false_regions.py`` can reuse them.

    python benchmarks/plate_leaks.py                                # dashcam, PETS, MOT20; all levels
    python benchmarks/plate_leaks.py --clips dashcam --levels standard --every 10
    python benchmarks/plate_leaks.py --reuse                        # attack the outputs already there
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _clip_runs import APPROACH_SIZES, BENCH_OUT, CLIPS, MAX_PIXELS, ClipRun, clip_path, run_deface, run_veil

from veil.evaluation.ocr_attack import CANDIDATE_MIN_READ, PlateReader, is_plate_candidate, plate_similarity
from veil.pipeline.privacy_level import PrivacyLevel
from veil.types import Frame
from veil.video.reader import VideoReader

RUNS = BENCH_OUT / "runs"
REVIEWED = Path(__file__).with_name("plate_candidates_reviewed.json")
CACHE = BENCH_OUT / "plate_candidates"
DISCOVERY_SCALE = 2.0


@dataclass(frozen=True)
class Candidate:
    """A plate candidate read on one frame of the original."""

    index: int
    box_xyxy: tuple[float, float, float, float]
    text: str


@dataclass
class Row:
    clip: str
    method: str
    frames_per_s: float | None
    candidates: int
    leaked: list[tuple[Candidate, str]]
    signs: int  # candidates reviewed as not plates
    signs_leaked: list[tuple[Candidate, str]]

    @property
    def share(self) -> float:
        plates = self.candidates - self.signs
        return len(self.leaked) / plates if plates else 0.0


def not_plates(clip: str) -> list[dict[str, object]]:
    """Return the reviewed entries of ``clip`` that are not plates."""
    entries: list[dict[str, object]] = json.loads(REVIEWED.read_text())["not_plates"]
    return [entry for entry in entries if entry["clip"] == clip]


def is_reviewed_sign(candidate: Candidate, reviewed: list[dict[str, object]]) -> bool:
    """Return whether a person found ``candidate`` not to be a plate."""
    return any(
        entry["text"] == candidate.text and entry.get("frame", candidate.index) == candidate.index
        for entry in reviewed
    )


def sampled(path: Path, every: int) -> Iterator[Frame]:
    """Yield every ``every``-th frame of ``path``, from frame 0."""
    with VideoReader(path, max_pixels=MAX_PIXELS) as reader:
        for frame in reader:
            if frame.index % every == 0:
                yield frame


def find_candidates(name: str, every: int, reader: PlateReader) -> list[Candidate]:
    """Return the plate candidates on every ``every``-th frame of clip ``name`` (cached in bench_out)."""
    clip = clip_path(name)
    cache = CACHE / f"{clip.stem}.every{every}.json"
    if cache.exists() and cache.stat().st_mtime > clip.stat().st_mtime:
        return [Candidate(c["index"], tuple(c["box"]), c["text"]) for c in json.loads(cache.read_text())]
    found = [
        Candidate(frame.index, line.box_xyxy, line.text)
        for frame in sampled(clip, every)
        for line in reader.find_text(frame.image, DISCOVERY_SCALE)
        if is_plate_candidate(line.text)
    ]
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([{"index": c.index, "box": c.box_xyxy, "text": c.text} for c in found]))
    return found


def leaked(
    output: Path, candidates: list[Candidate], every: int, reader: PlateReader
) -> list[tuple[Candidate, str]]:
    """Return each candidate the recognizer still reads at least half of on ``output``, with that reading."""
    by_frame: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        by_frame.setdefault(candidate.index, []).append(candidate)
    out: list[tuple[Candidate, str]] = []
    seen = 0
    for frame in sampled(output, every):
        seen = frame.index
        for candidate in by_frame.get(frame.index, ()):
            reading = reader.best_reading(frame.image, candidate.box_xyxy, candidate.text)
            if plate_similarity(reading.text, candidate.text) >= CANDIDATE_MIN_READ:
                out.append((candidate, reading.text))
    last = max(by_frame, default=0)
    if seen < last:
        raise SystemExit(f"{output} ends at frame {seen}, before candidate frame {last}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clips",
        default=",".join([*CLIPS, *APPROACH_SIZES]),
        help=f"comma-separated of {', '.join([*CLIPS, *APPROACH_SIZES])}",
    )
    parser.add_argument("--levels", default=",".join(level.value for level in PrivacyLevel))
    parser.add_argument("--every", type=int, default=5, help="attack every Nth frame (default 5)")
    parser.add_argument("--no-deface", action="store_true", help="leave deface out even if installed")
    parser.add_argument("--reuse", action="store_true", help="attack outputs of earlier runs where present")
    parser.add_argument("--runs", type=Path, default=RUNS, help=f"where outputs go (default {RUNS})")
    parser.add_argument("--show", type=int, default=6, help="leaked readings listed per row")
    args = parser.parse_args()
    reader = PlateReader()
    rows: list[Row] = []
    for name in args.clips.split(","):
        candidates = find_candidates(name, args.every, reader)
        texts = sorted({c.text for c in candidates})
        print(
            f"{name}: {len(candidates)} plate candidates on every {args.every}th frame: {texts}", flush=True
        )
        runs: list[tuple[str, ClipRun | None]] = [("copy", ClipRun(clip_path(name), None, None))]
        levels = [level for level in args.levels.split(",") if level]
        runs += [(level, run_veil(name, level, args.runs, reuse=args.reuse)) for level in levels]
        if not args.no_deface:
            runs.append(("deface 1.5", run_deface(name, args.runs, reuse=args.reuse)))
        reviewed = not_plates(name)
        signs = sum(is_reviewed_sign(c, reviewed) for c in candidates)
        for method, run in runs:
            if run is None:
                continue
            found = leaked(run.output, candidates, args.every, reader)
            row = Row(
                name,
                method,
                run.frames_per_s,
                len(candidates),
                [hit for hit in found if not is_reviewed_sign(hit[0], reviewed)],
                signs,
                [hit for hit in found if is_reviewed_sign(hit[0], reviewed)],
            )
            rows.append(row)
            print(
                f"  {method}: {len(row.leaked)}/{row.candidates - signs} plates leaked, "
                f"{len(row.signs_leaked)}/{signs} signs left readable",
                flush=True,
            )
    print(
        f"\n{'clip':<9}{'method':<12}{'frames/s':>9}{'plates':>8}{'leaked':>8}{'share':>8}"
        f"{'signs':>7}{'readable':>10}  leaked plate readings"
    )
    for row in rows:
        fps = "-" if row.frames_per_s is None else f"{row.frames_per_s:.1f}"
        shown = ", ".join(f"{c.index}:{c.text}→{got}" for c, got in row.leaked[: args.show])
        more = f" (+{len(row.leaked) - args.show})" if len(row.leaked) > args.show else ""
        print(
            f"{row.clip:<9}{row.method:<12}{fps:>9}{row.candidates - row.signs:>8}{len(row.leaked):>8}"
            f"{row.share:>8.0%}{row.signs:>7}{len(row.signs_leaked):>10}  {shown}{more}"
        )


if __name__ == "__main__":
    main()
