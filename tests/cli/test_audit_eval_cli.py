"""``veil audit`` and ``veil eval`` argument handling and exit codes (no models needed)."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image as PILImage

from veil.cli.audit import parse_fail_over
from veil.cli.exit_codes import ExitCode
from veil.cli.main import cli
from veil.types import ObjectClass


def test_parse_fail_over_bare_value_covers_the_leak_classes() -> None:
    assert parse_fail_over("0.05") == {
        ObjectClass.FACE: 0.05,
        ObjectClass.LICENSE_PLATE: 0.05,
        ObjectClass.TEXT: 0.05,
    }
    assert parse_fail_over("face=0, person=0.5") == {ObjectClass.FACE: 0.0, ObjectClass.PERSON: 0.5}


def test_parse_fail_over_bare_value_covers_the_targeted_classes_only() -> None:
    targets = frozenset({ObjectClass.FACE, ObjectClass.LICENSE_PLATE, ObjectClass.PERSON})
    assert parse_fail_over("0", targets) == {ObjectClass.FACE: 0.0, ObjectClass.LICENSE_PLATE: 0.0}
    assert parse_fail_over("text=0.1", targets) == {ObjectClass.TEXT: 0.1}  # named: always applies


@pytest.mark.parametrize("text", ["", "face=2", "nose=0.1", "lots"])
def test_parse_fail_over_rejects_nonsense(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_fail_over(text)


def test_commands_are_registered_with_help() -> None:
    runner = CliRunner()
    for command in ("audit", "eval"):
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0, result.output
    assert "--fail-over" in runner.invoke(cli, ["audit", "--help"]).output
    assert "--compare" in runner.invoke(cli, ["eval", "--help"]).output


def test_audit_refuses_a_file_against_a_folder(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    result = CliRunner().invoke(cli, ["audit", str(image), "--original", str(tmp_path)])
    assert result.exit_code != 0
    assert "folder" in str(result.exception)


def test_eval_rejects_an_unknown_method(tmp_path: Path) -> None:
    (tmp_path / "t.xml").write_text("<dataset><images/></dataset>", encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", str(tmp_path / "t.xml"), "--methods", "sepia"])
    assert result.exit_code == ExitCode.USAGE
    assert "sepia" in result.output


def test_leak_exit_code_is_its_own() -> None:
    assert ExitCode.LEAK == 8 and len({int(c) for c in ExitCode}) == len(ExitCode)


def test_audit_summary_rates_targeted_classes_and_lists_the_rest_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from veil import api
    from veil.evaluation.audit_frame import AuditItem, FrameAudit
    from veil.evaluation.audit_report import AuditedFrame, AuditReport

    def item(label: ObjectClass, leaked: bool) -> AuditItem:
        return AuditItem(label, (0, 0, 4, 4), True, leaked, 1.0 if leaked else 0.0, 1.0, 0.0, 0.0)

    def fake_audit(
        anonymized: Path, original: Path, options: object, progress: object, **_: object
    ) -> AuditReport:
        report = AuditReport(str(anonymized), str(original), options)  # type: ignore[arg-type]
        items = (item(ObjectClass.FACE, False), item(ObjectClass.TEXT, True), item(ObjectClass.TEXT, True))
        report.frames.append(AuditedFrame("a.png", 0, None, FrameAudit(items)))
        return report

    monkeypatch.setattr(api, "audit", fake_audit)
    image = tmp_path / "a.png"
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    args = ["audit", str(image), "--original", str(image), "--classes", "face,text"]
    result = CliRunner().invoke(cli, [*args, "--fail-over", "0"])
    assert result.exit_code == 0, result.output  # the readable sign is not the anonymizer's leak
    assert "leak rate (face): 0.0%" in result.output
    assert "text (not targeted): 2/2 still readable" in result.output
    failed = CliRunner().invoke(cli, [*args, "--targets", "face,text", "--fail-over", "0"])
    assert failed.exit_code == ExitCode.LEAK
