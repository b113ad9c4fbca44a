"""``veil audit``: attack anonymized media where the original shows faces, plates, text or persons."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

# The CLI reaches the audit through the package's public surface, as it does veil.api.
from veil import api
from veil.cli.exit_codes import ExitCode
from veil.cli.options import models_dir_option, parse_targets, quiet_option, threads_option
from veil.cli.progress import FrameProgress
from veil.types import ObjectClass

__all__ = ["audit", "parse_fail_over"]

_DEFAULT_CLASSES = "face,plate,text,person"
_DEFAULT_TARGETS = "face,plate"


def parse_fail_over(
    text: str, targets: frozenset[ObjectClass] | None = None
) -> dict[ObjectClass | None, float]:
    """Parse ``0.05`` (each targeted leak class; all three without ``targets``) or ``face=0,person=0.5``."""
    limits: dict[ObjectClass | None, float] = {}
    leak_classes = api.LEAK_CLASSES
    bare = sorted(leak_classes if targets is None else leak_classes & targets, key=lambda c: c.value)
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        try:
            limit = float(value if sep else name)
            labels = [ObjectClass.parse(name)] if sep else bare
        except ValueError as exc:
            raise click.BadParameter(f"{part!r}: {exc}") from None
        if not 0.0 <= limit <= 1.0:
            raise click.BadParameter(f"{part!r}: a leak rate limit is a share in [0, 1]")
        for label in labels:
            limits[label] = limit
    if not limits:
        raise click.BadParameter("no limit given")
    return limits


@click.command()
@click.argument("anonymized", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--original",
    required=True,
    type=click.Path(path_type=Path, exists=True),
    help="The original the anonymized media was made from: a file, or a folder mirrored by ANONYMIZED.",
)
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Write the full report as JSON here."
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path),
    help="Write a self-contained HTML report here: worst frames before/after, a timeline, tables.",
)
@click.option(
    "--fail-over",
    help="Exit with status 8 when a leak rate exceeds this share: 0 (any leak fails) or per class, "
    "face=0,plate=0.02,person=0.5 (person: rank-1 re-identification). A bare value applies to each "
    "targeted class of face, plate and text.",
)
@click.option(
    "--targets",
    default=_DEFAULT_TARGETS,
    show_default=True,
    help="What the anonymizer was asked to hide (as veil anonymize --targets): only these classes make "
    "the leak rate; other classes found readable are listed as not targeted.",
)
@click.option(
    "--classes",
    default=_DEFAULT_CLASSES,
    show_default=True,
    help="What to attack: face (re-detection), plate and text (OCR), person (re-identification).",
)
@click.option(
    "--every",
    "every_s",
    default=1.0,
    show_default=True,
    type=float,
    help="In videos, attack one frame per this many seconds (about 1 s of CPU per 720p frame); "
    "0 attacks every frame.",
)
@click.option("--every-frame", is_flag=True, help="Attack every video frame (same as --every 0).")
@click.option(
    "--truth",
    type=click.Path(path_type=Path, exists=True),
    help="Annotations of the original images (dlib XML, OpenALPR folder, COCO JSON, MOT gt.txt): the "
    "annotated objects are attacked instead of what the detectors find on the originals.",
)
@click.option(
    "--min-chars",
    default=4,
    show_default=True,
    type=int,
    help="A text reading counts as identifying from this many letters or digits.",
)
@click.option(
    "--identity",
    is_flag=True,
    help="Also run the identity attack on faces: dlib's face embedding asks whether each anonymized face "
    "is still its original person (distance under 0.6) and whether its original is the nearest of its "
    "frame's faces. For methods that keep a face on purpose (--method face=expression), this, not "
    "re-detection, is the privacy measure. Needs the audit extra.",
)
@threads_option
@models_dir_option
@quiet_option
def audit(
    anonymized: Path,
    original: Path,
    json_path: Path | None,
    html_path: Path | None,
    fail_over: str | None,
    targets: str,
    classes: str,
    every_s: float,
    every_frame: bool,
    truth: Path | None,
    min_chars: int,
    identity: bool,
    threads: int,
    models_dir: Path | None,
    quiet: bool,
) -> None:
    """Measure what identifying content is left in ANONYMIZED (image, video or folder).

    Faces, plates and text found on the original are attacked at the same place in the anonymized
    copy: faces by two face detectors (also upscaled), plates and text by an OCR pipeline on the
    original upscaled 2× and its recognizer on the copy, persons by a re-identification model. None of
    these are the anonymizer's own detectors, so what it missed shows up. Prints the leak rate over the
    targeted classes, each class's figures, and the frames that need a human look.
    """
    targeted = parse_targets(targets)
    limits = parse_fail_over(fail_over, targeted) if fail_over is not None else {}
    options = api.AuditOptions(
        classes=parse_targets(classes),
        targets=targeted,
        models_dir=models_dir,
        sample_interval_s=0.0 if every_frame else every_s,
        min_text_chars=min_chars,
        threads=threads,
        identity=identity,
    )
    with FrameProgress(enabled=not quiet and sys.stderr.isatty()) as progress:
        report = api.audit(anonymized, original, options, progress, truth=truth)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
    if html_path is not None:
        api.save_audit_html(report, html_path)
    if not quiet:
        _print_summary(report)
    broken = report.limits_exceeded(limits)
    for line in broken:
        click.echo(f"veil: audit failed: {line}", err=True)
    for failure in report.failures:
        click.echo(f"veil: could not audit {failure}", err=True)
    if broken:
        sys.exit(ExitCode.LEAK)
    if report.failures:
        sys.exit(ExitCode.PARTIAL)


def _print_summary(report: api.AuditReport) -> None:
    rate = report.leak_rate()
    headline = ", ".join(c.value for c in report.headline_classes()) or "nothing targeted was audited"
    click.echo(f"leak rate ({headline}): {'–' if rate is None else f'{rate:.1%}'} ({report.seconds:.1f} s)")
    for label in report.classes():
        if label is ObjectClass.PERSON:
            continue
        summary = report.summary(label)
        leak = "–" if summary.leak_rate is None else f"{summary.leak_rate:.1%}"
        if label in report.options.targets:
            line = f"  {label.value}: {summary.leaked}/{summary.items} still found or read ({leak})"
        else:
            line = f"  {label.value} (not targeted): {summary.leaked}/{summary.items} still readable"
        click.echo(line + (f", {summary.uncertain} uncertain" if summary.uncertain else ""))
    if ObjectClass.PERSON in report.classes():
        persons = report.persons()
        if persons.rank1 is None:
            click.echo("person re-identification: fewer than two persons in any attacked frame")
        else:
            click.echo(
                f"person re-identification of un-hidden bodies (not a leak rate): {persons.hits}/"
                f"{persons.queries} matched at rank 1 ({persons.rank1:.1%}, chance {persons.chance:.1%})"
            )
    identity = report.identity()
    if identity is not None:
        same = "–" if identity.same_person_rate is None else f"{identity.same_person_rate:.1%}"
        rank = (
            "–" if identity.rank1 is None else f"{identity.rank1:.1%} at rank 1, chance {identity.chance:.1%}"
        )
        click.echo(
            f"face identity (dlib embedding): {identity.same_person}/{identity.compared} still the same "
            f"person ({same}); {rank}"
        )
    ranges = report.review()
    if ranges:
        click.echo(f"needs a look ({len(ranges)}), riskiest first:")
        for r in ranges[:10]:
            where = (
                f"frame {r.first_index}"
                if r.first_index == r.last_index
                else f"frames {r.first_index}–{r.last_index}"
            )
            span = "" if r.start_s is None else f" ({r.start_s:.1f}–{r.end_s:.1f} s)"
            click.echo(
                f"  {r.file} {where}{span}: risk {r.risk:.2f}, {r.leaks} leaked, {r.uncertain} uncertain"
            )
