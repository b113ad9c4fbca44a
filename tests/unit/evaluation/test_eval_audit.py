"""The audit's bookkeeping with fake attackers: copies leak everything, masked copies nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.errors import ConfigError, UnreadableMediaError
from veil.evaluation.annotations import AnnotatedFrame
from veil.evaluation.audit import audit_paths, frame_step
from veil.evaluation.audit_frame import FrameAuditor
from veil.evaluation.audit_html import write_audit_html
from veil.evaluation.audit_options import AuditOptions
from veil.evaluation.datasets import AnnotatedImage
from veil.evaluation.face_attack import FaceAttacker, FaceReDetector
from veil.evaluation.ocr_attack import PlateReading, TextLine
from veil.types import Image, ObjectClass

FACE = (10.0, 10.0, 30.0, 30.0)  # in a 64-px-wide frame
TEXT = (40.0, 4.0, 60.0, 16.0)
BASE_WIDTH = 64


def _visible(image: Image, box: tuple[float, float, float, float]) -> bool:
    scale = image.shape[1] / BASE_WIDTH
    x1, y1, x2, y2 = (int(v * scale) for v in box)
    pad_x, pad_y = (x2 - x1) // 4, (y2 - y1) // 4  # the middle: upscaling smears the edges
    return float(image[y1 + pad_y : y2 - pad_y, x1 + pad_x : x2 - pad_x].std()) > 5.0


def _face_detector(score: float) -> FakeDetector:
    def detect(_: int, image: Image) -> Detections:
        if not _visible(image, FACE):
            return Detections.empty()
        scale = image.shape[1] / BASE_WIDTH
        return Detections.create([[v * scale for v in FACE]], [score], ObjectClass.FACE)

    return FakeDetector(detect)


class FakeReader:
    """Reads each line's text wherever its box still has texture, and ``partial`` where it was softened.

    ``find_text`` records the scale it was asked to read the image at.
    """

    def __init__(
        self, partial: str = "", lines: tuple[tuple[tuple[float, ...], str], ...] = ((TEXT, "HELLO"),)
    ):
        self.partial = partial
        self.lines = lines
        self.scales: list[float] = []

    def find_text(self, image: Image, scale: float = 1.0) -> list[TextLine]:
        self.scales.append(scale)
        return [TextLine(box, text, 0.95) for box, text in self.lines if _visible(image, box)]  # type: ignore[arg-type]

    def _text_at(self, box: object) -> str:
        return next(text for b, text in self.lines if tuple(b) == tuple(box))  # type: ignore[arg-type]

    def readings(self, image: Image, box: object) -> list[PlateReading]:
        text = self._text_at(box) if _visible(image, box) else self.partial  # type: ignore[arg-type]
        return [PlateReading(text, 0.9 if text else 0.0, 1.0)]

    def best_reading(self, image: Image, box: object, truth: str) -> PlateReading:
        return self.readings(image, box)[0]


def _auditor(
    score: float = 0.9,
    partial: str = "",
    classes: frozenset[ObjectClass] | None = None,
    reader: FakeReader | None = None,
    targets: frozenset[ObjectClass] | None = None,
) -> FrameAuditor:
    faces = FaceReDetector(detectors={FaceAttacker.YUNET: _face_detector(score)})
    options = AuditOptions(
        classes=classes or frozenset({ObjectClass.FACE, ObjectClass.TEXT}),
        targets=targets or frozenset({ObjectClass.FACE, ObjectClass.TEXT}),
    )
    no_bodies = FakeDetector(Detections.empty())
    return FrameAuditor(options, faces=faces, reader=reader or FakeReader(partial), bodies=no_bodies)  # type: ignore[arg-type]


def _original() -> Image:
    return np.random.default_rng(5).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def _masked(image: Image) -> Image:
    out = image.copy()
    for x1, y1, x2, y2 in (FACE, TEXT):
        out[int(y1) : int(y2), int(x1) : int(x2)] = 0
    return out


def test_an_unmodified_copy_leaks_every_item() -> None:
    image = _original()
    audit = _auditor().audit(image, image.copy())
    assert [(i.label, i.confident, i.leaked) for i in audit.items] == [
        (ObjectClass.FACE, True, True),
        (ObjectClass.TEXT, True, True),
    ]
    assert all(i.detail == pytest.approx(1.0) for i in audit.items)
    assert audit.risk >= 1.0


def test_a_masked_copy_leaks_nothing_and_keeps_no_detail() -> None:
    image = _original()
    audit = _auditor().audit(image, _masked(image))
    assert [i.leaked for i in audit.items] == [False, False]
    assert [i.detail for i in audit.items] == [0.0, 0.0]
    assert audit.risk == 0.0
    assert np.array_equal(image, _original())  # inputs untouched


@pytest.mark.parametrize(("partial", "leaked", "similarity"), [("HELL", True, 0.8), ("HE", False, 0.4)])
def test_text_leaks_when_the_reading_is_within_one_character_in_four(
    partial: str, leaked: bool, similarity: float
) -> None:
    image = _original()
    (text,) = [
        i for i in _auditor(partial=partial).audit(image, _masked(image)).items if i.label is ObjectClass.TEXT
    ]
    assert text.after == pytest.approx(similarity)
    assert text.leaked is leaked
    assert text.risk == pytest.approx(similarity / 0.75)
    assert (text.text_before, text.text_after) == ("HELLO", partial)


PLATE_CLASSES = frozenset({ObjectClass.LICENSE_PLATE, ObjectClass.TEXT})


@pytest.mark.parametrize(("partial", "leaked"), [("AB1", True), ("AB", False), ("", False)])
def test_a_plate_candidate_leaks_when_half_its_characters_are_read(partial: str, leaked: bool) -> None:
    image = _original()
    reader = FakeReader(partial, lines=((TEXT, "AB-123"),))
    auditor = _auditor(classes=PLATE_CLASSES, reader=reader, targets=PLATE_CLASSES)
    (plate,) = auditor.audit(image, _masked(image)).items
    assert (plate.label, plate.confident, plate.leaked) == (ObjectClass.LICENSE_PLATE, True, leaked)
    assert plate.after == pytest.approx(len(partial) / 5)
    assert reader.scales == [2.0]  # the original is read upscaled, so far-away plates count


def test_a_car_badge_is_text_not_a_plate_and_untargeted_text_is_not_in_the_leak_rate(tmp_path: Path) -> None:
    image = _original()
    reader = FakeReader(lines=((TEXT, "GOLF"),))
    auditor = _auditor(classes=PLATE_CLASSES, reader=reader, targets=frozenset({ObjectClass.LICENSE_PLATE}))
    (badge,) = auditor.audit(image, image).items
    assert (badge.label, badge.leaked) == (ObjectClass.TEXT, True)  # left readable, as it should be
    original = _write_folder(tmp_path / "orig", {"a.png": image})
    copy = _write_folder(tmp_path / "copy", {"a.png": image})
    options = AuditOptions(classes=PLATE_CLASSES, targets=frozenset({ObjectClass.LICENSE_PLATE}))
    report = audit_paths(copy, original, options, auditor=auditor)
    assert report.summary(ObjectClass.TEXT).leaked == 1
    assert report.summary(ObjectClass.LICENSE_PLATE).items == 0
    assert report.leak_rate() is None  # no plate: nothing targeted was found
    assert report.limits_exceeded({ObjectClass.LICENSE_PLATE: 0.0, None: 0.0}) == []
    assert report.headline_classes() == [ObjectClass.LICENSE_PLATE]
    assert report.untargeted_classes() == [ObjectClass.TEXT]
    data = report.to_dict()
    assert data["classes"]["text"]["targeted"] is False
    assert data["classes"]["plate"]["targeted"] is True


def test_the_headline_counts_targeted_classes_only(tmp_path: Path) -> None:
    image = _original()
    original = _write_folder(tmp_path / "orig", {"a.png": image})
    # The face was hidden, the text (not a target) left as it was.
    out = image.copy()
    x1, y1, x2, y2 = (int(v) for v in FACE)
    out[y1:y2, x1:x2] = 0
    anonymized = _write_folder(tmp_path / "out", {"a.png": out})
    options = AuditOptions(targets=frozenset({ObjectClass.FACE}))
    auditor = _auditor(targets=frozenset({ObjectClass.FACE}))
    report = audit_paths(anonymized, original, options, auditor=auditor)
    assert report.summary(ObjectClass.TEXT).leaked == 1
    assert report.leak_rate() == 0.0
    assert report.leak_rate(ObjectClass.TEXT) == 1.0  # still there to read, per class
    write_audit_html(report, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Leak rate: 0.0%" in page and "Not targeted, so not in the rate: plate, text." in page
    assert "text (not targeted)" in page


def test_a_face_below_the_attack_threshold_is_uncertain_not_a_leak() -> None:
    image = _original()
    (face,) = _auditor(score=0.3, classes=frozenset({ObjectClass.FACE})).audit(image, image).items
    assert not face.confident and not face.leaked
    assert face.before == pytest.approx(0.6)  # 0.3 against YuNet's 0.5
    assert face.risk < 1.0


def test_annotations_replace_what_the_attackers_find() -> None:
    image = _original()
    truth = AnnotatedFrame(
        Path("x.png"),
        (
            AnnotatedImage(Path("x.png"), (FACE,), ObjectClass.FACE),
            AnnotatedImage(Path("x.png"), (TEXT,), ObjectClass.LICENSE_PLATE, ("AB-123",)),
        ),
    )
    classes = frozenset({ObjectClass.FACE, ObjectClass.LICENSE_PLATE})
    reader = FakeReader(lines=((TEXT, "AB123"),))
    audit = _auditor(classes=classes, reader=reader, targets=classes).audit(image, image, truth)
    assert [(i.label, i.leaked) for i in audit.items] == [
        (ObjectClass.FACE, True),
        (ObjectClass.LICENSE_PLATE, True),
    ]
    assert audit.items[1].before == pytest.approx(1.0)


def test_persons_are_reidentified_against_their_frame() -> None:
    image = _original()
    persons = Detections.create([[0, 0, 20, 48], [30, 0, 50, 48]], [0.9, 0.9], ObjectClass.PERSON)

    class ColourEmbedder:
        def embed(self, frame: Image, boxes: np.ndarray) -> np.ndarray:
            vectors = np.array(
                [frame[int(b[1]) : int(b[3]), int(b[0]) : int(b[2])].mean((0, 1)) + 1 for b in boxes]
            )
            return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    auditor = FrameAuditor(
        AuditOptions(classes=frozenset({ObjectClass.PERSON})),
        bodies=FakeDetector(persons),
        embedder=ColourEmbedder(),  # type: ignore[arg-type]
    )
    audit = auditor.audit(image, image)
    assert audit.person_gallery == 2
    assert [i.leaked for i in audit.items] == [True, True]
    assert audit.risk == 0.0  # persons are reported apart from the leak risk


def _write_folder(root: Path, images: dict[str, Image]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        PILImage.fromarray(image).save(root / name)
    return root


def test_audit_paths_on_folders_reports_rates_reviews_and_html(tmp_path: Path) -> None:
    image = _original()
    original = _write_folder(tmp_path / "orig", {"a.png": image, "b.png": image})
    copy = _write_folder(tmp_path / "copy", {"a.png": image})
    masked = _write_folder(tmp_path / "masked", {"a.png": _masked(image), "b.png": _masked(image)})

    leaky = audit_paths(copy, original, AuditOptions(), auditor=_auditor())
    assert leaky.leak_rate() == 1.0
    assert leaky.notes == [f"b.png: no anonymized copy at {copy / 'b.png'}"]
    assert leaky.limits_exceeded({ObjectClass.FACE: 0.0}) == ["face leak rate 100.0% is over the limit 0.0%"]
    (review,) = leaky.review()
    assert (review.file, review.leaks, review.start_s) == ("a.png", 2, None)
    assert len(leaky.worst) == 1 and leaky.worst[0].before.shape[1] == 64

    safe = audit_paths(masked, original, AuditOptions(), auditor=_auditor())
    assert safe.leak_rate() == 0.0
    assert safe.summary(ObjectClass.FACE).items == 2
    assert safe.limits_exceeded({None: 0.0, ObjectClass.FACE: 0.0}) == []
    assert safe.review() == []
    data = json.loads(json.dumps(safe.to_dict()))
    assert data["classes"]["face"] == {
        "items": 2,
        "leaked": 0,
        "leak_rate": 0.0,
        "uncertain": 0,
        "detail_mean": 0.0,
        "detail_max": 0.0,
        "targeted": True,
    }

    write_audit_html(leaky, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3  # timeline + one before/after pair
    assert "Leak rate: 100.0%" in page


def test_a_video_is_attacked_every_nth_frame_and_reviewed_by_time(make_video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clip = make_video("clip.mp4", width=64, height=48, fps=25, frames=10)
    options = AuditOptions(sample_interval_s=0.08)  # every 2nd frame at 25 fps
    report = audit_paths(clip, clip, options, auditor=_auditor(classes=frozenset({ObjectClass.FACE})))
    (audited,) = report.files
    assert (audited.kind, audited.frames, audited.attacked, audited.step) == ("video", 10, 5, 2)
    assert [f.index for f in report.frames] == [0, 2, 4, 6, 8]
    risky = [f for f in report.frames if f.audit.risk >= options.review_min_risk]
    for review in report.review():
        assert review.end_s is not None and review.start_s is not None
        assert review.end_s - (
            report.frames[[f.index for f in report.frames].index(review.last_index)].time_s or 0
        ) == pytest.approx(0.08)
    assert sum(r.last_index - r.first_index + 2 for r in report.review()) == 2 * len(risky)


@pytest.mark.parametrize(
    ("interval", "rate", "step"), [(1.0, 30.0, 30), (0.0, 30.0, 1), (0.5, 25.0, 12), (0.01, 25.0, 1)]
)
def test_frame_step(interval: float, rate: float, step: int) -> None:
    assert frame_step(interval, rate) == step


def test_mismatched_paths_and_settings_are_refused(tmp_path: Path) -> None:
    image_dir = _write_folder(tmp_path / "d", {"a.png": _original()})
    with pytest.raises(ConfigError):
        audit_paths(image_dir / "a.png", image_dir, auditor=_auditor())
    with pytest.raises(UnreadableMediaError):
        audit_paths(tmp_path / "missing.png", image_dir / "a.png", auditor=_auditor())
    with pytest.raises(ConfigError):
        AuditOptions(classes=frozenset({ObjectClass.VEHICLE}))
    with pytest.raises(ConfigError):
        AuditOptions(sample_interval_s=-1)
