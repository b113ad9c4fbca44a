"""COCO and MOT readers, format detection, and evaluate_dataset with fake detectors on a tiny set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.errors import ConfigError
from veil.evaluation.annotations import DatasetFormat, detect_format, group_by_image, load_annotations
from veil.evaluation.coco import read_coco_json
from veil.evaluation.eval_html import write_scatter_png
from veil.evaluation.eval_options import EvalMethod, EvalOptions
from veil.evaluation.evaluate import evaluate_dataset
from veil.evaluation.mot import read_mot_gt
from veil.types import Image, ObjectClass

PERSON_BOX = [10, 8, 10, 30]  # COCO x, y, w, h → xyxy (10, 8, 20, 38)


def _coco(tmp_path: Path, image: Image) -> Path:
    PILImage.fromarray(image).save(tmp_path / "a.png")
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": image.shape[1], "height": image.shape[0]}],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 9, "name": "chair"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": PERSON_BOX},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "iscrowd": 1},
            {"id": 3, "image_id": 1, "category_id": 9, "bbox": [1, 1, 2, 2]},
            {"id": 4, "image_id": 1, "category_id": 3, "bbox": [40, 30, 10, 10]},
        ],
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_read_coco_groups_boxes_by_image_and_class(tmp_path: Path) -> None:
    items = read_coco_json(_coco(tmp_path, np.zeros((48, 64, 3), np.uint8)))
    assert [(i.label, i.boxes_xyxy) for i in items] == [
        (ObjectClass.PERSON, ((10.0, 8.0, 20.0, 38.0),)),
        (ObjectClass.VEHICLE, ((40.0, 30.0, 50.0, 40.0),)),
    ]
    assert items[0].image_path == tmp_path / "a.png" and items[0].size_wh == (64, 48)
    frames = group_by_image(items)
    assert len(frames) == 1 and len(frames[0].of_class(ObjectClass.PERSON)) == 1


def test_read_mot_gt_skips_ignored_rows_and_maps_classes(tmp_path: Path) -> None:
    gt = tmp_path / "seq" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    (tmp_path / "seq" / "seqinfo.ini").write_text(
        "[Sequence]\nimDir=frames\nimExt=.png\nimWidth=640\nimHeight=480\n", encoding="utf-8"
    )
    gt.write_text(
        "1,1,10,20,30,40,1,1,1.0\n1,2,0,0,5,5,0,1,1.0\n2,3,5,5,10,10,1,3,0.5\n2,4,1,1,2,2,1,8,1\n",
        encoding="utf-8",
    )
    items = read_mot_gt(gt)
    assert [(i.image_path.name, i.label, i.boxes_xyxy) for i in items] == [
        ("000001.png", ObjectClass.PERSON, ((10.0, 20.0, 40.0, 60.0),)),
        ("000002.png", ObjectClass.VEHICLE, ((5.0, 5.0, 15.0, 15.0),)),
    ]
    assert items[0].image_path.parent == tmp_path / "seq" / "frames" and items[0].size_wh == (640, 480)
    assert detect_format(tmp_path / "seq") is DatasetFormat.MOT
    assert len(load_annotations(tmp_path / "seq")) == 2


def test_detect_format_by_name(tmp_path: Path) -> None:
    (tmp_path / "t.xml").write_text("<dataset/>", encoding="utf-8")
    assert detect_format(tmp_path / "t.xml") is DatasetFormat.DLIB
    assert detect_format(tmp_path) is DatasetFormat.DLIB
    plates = tmp_path / "plates"
    plates.mkdir()
    (plates / "a.txt").write_text("a.jpg\t1\t2\t3\t4\tAB1\n", encoding="utf-8")
    assert detect_format(plates) is DatasetFormat.OPENALPR
    with pytest.raises(ConfigError):
        detect_format(tmp_path / "nothing")
    with pytest.raises(ConfigError):
        read_coco_json(tmp_path / "t.xml")


def _scene() -> Image:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)


def test_evaluate_measures_privacy_utility_and_speed_per_method(tmp_path: Path) -> None:
    dataset = _coco(tmp_path, _scene())
    person = Detections.create([[10, 8, 20, 38]], [0.9], ObjectClass.PERSON)
    car = Detections.create([[40, 30, 50, 40]], [0.8], ObjectClass.VEHICLE)

    def bodies(_: int, image: Image) -> Detections:
        # YOLOX stand-in: sees the person while the person's pixels keep their texture.
        visible = float(image[12:34, 12:18].std()) > 20
        return Detections.concat([person if visible else Detections.empty(), car])

    veil = FakeDetector(person)
    options = EvalOptions(
        methods=(EvalMethod.ORIGINAL, EvalMethod.MASK, EvalMethod.GLOBAL_QUANTIZE),
        targets=frozenset({ObjectClass.PERSON}),
    )
    report = evaluate_dataset(dataset, options, detector=veil, bodies=FakeDetector(bodies))
    original, mask, quantize = report.results
    assert report.annotated == {ObjectClass.PERSON: 1, ObjectClass.VEHICLE: 1}
    assert report.utility_reference[ObjectClass.PERSON] == "annotations"
    assert original.privacy[ObjectClass.PERSON].recall == 0.0
    assert mask.privacy[ObjectClass.PERSON].recall == 1.0  # masked with Veil's margin: fully hidden
    assert quantize.privacy[ObjectClass.PERSON].hidden == 1  # every pixel changed
    assert original.ap == {ObjectClass.PERSON: 1.0, ObjectClass.VEHICLE: 1.0}
    assert mask.ap[ObjectClass.PERSON] == 0.0 and mask.count_error[ObjectClass.PERSON] == 1.0
    assert original.ssim_outside == pytest.approx(1.0)
    assert mask.ssim_outside is not None and 0.5 < mask.ssim_outside < 1.0  # the mask reaches past the margin
    assert mask.images == 1 and original.seconds == 0.0
    rows = report.rows()
    assert [r[0] for r in rows] == ["original", "mask", "global-quantize"]
    assert "privacy person" in report.header()
    text = report.table_text()
    assert "100.0%" in text and "global-quantize" in text
    write_scatter_png(report, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        EvalOptions(methods=())
    with pytest.raises(ConfigError):
        EvalOptions(methods=(EvalMethod.BLUR, EvalMethod.BLUR))
    with pytest.raises(ConfigError):
        EvalMethod.parse("sepia")
    assert EvalMethod.parse(" Global-Blur ") is EvalMethod.GLOBAL_BLUR
