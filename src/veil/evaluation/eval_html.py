"""Render an evaluation as an HTML page with the privacy–utility table and scatter plot."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from veil.errors import OutputError
from veil.evaluation.eval_report import EvalReport
from veil.evaluation.html_report import figure_png, figure_tag, new_figure, page, table, write_page

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["render_eval_html", "scatter_figure", "write_eval_html", "write_scatter_png"]


def scatter_figure(report: EvalReport) -> Figure:
    """Return privacy recall against SSIM outside the regions and against AP50, one dot per method."""
    figure = new_figure(11.0, 4.2)
    left, right = figure.subplots(1, 2)
    for number, result in enumerate(report.results):
        privacy = result.privacy_recall
        if privacy is None:
            continue
        # One colour per method in both panels; Veil's methods are dots, whole-frame baselines squares.
        style = {"color": f"C{number % 10}", "marker": "o" if result.method.is_veil else "s", "s": 50}
        if result.ssim_outside is not None:
            left.scatter([result.ssim_outside], [privacy], label=result.method.value, **style)
        if result.utility_ap is not None:
            right.scatter([result.utility_ap], [privacy], **style)
    for axis, label in (
        (left, "SSIM with the original outside the regions"),
        (right, "AP50, persons and vehicles (YOLOX-nano)"),
    ):
        axis.set_xlabel(label)
        axis.set_ylabel("privacy recall")
        axis.set_xlim(-0.02, 1.05)
        axis.set_ylim(-0.02, 1.05)
        axis.grid(alpha=0.3)
    figure.legend(loc="outside right center", fontsize=8)
    figure.suptitle(
        f"Privacy against utility: {Path(report.dataset).name} ({report.images} images)", fontsize=10
    )
    return figure


def write_scatter_png(report: EvalReport, path: Path) -> None:
    """Write the privacy–utility scatter plot to ``path`` as PNG.

    Raises:
        OutputError: the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(figure_png(scatter_figure(report)))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def render_eval_html(report: EvalReport) -> str:
    """Return the evaluation as an HTML document (plot embedded)."""
    annotated = ", ".join(f"{n} {c.value}" for c, n in report.annotated.items())
    references = "; ".join(f"{c.value}: {where}" for c, where in report.utility_reference.items())
    sections = [
        f"<p>Data set: <code>{html.escape(report.dataset)}</code> ({html.escape(report.dataset_format)}), "
        f"{report.images} images, annotated: {html.escape(annotated)}. "
        f"Measured in {report.seconds:.1f} s.</p>",
        "<h2>Privacy and utility</h2>" + table(report.header(), report.rows()),
        figure_tag(scatter_figure(report), "privacy against utility"),
        "<h2>How this was measured</h2><p><small>"
        "Privacy recall: the share of annotated objects that are hidden (at least 90 % of the box changed by "
        "the method) and that the attack no longer finds: faces by YuNet or CenterFace at 1× and 2×, plates "
        "and text by the PP-OCRv4 recognizer (within one character in four of the truth). AP50: YOLOX-nano "
        f"on the outputs, graded at IoU 0.5 against {html.escape(references)}. SSIM: mean structural "
        "similarity with the original outside the annotated boxes grown by 15 %. Count error: mean absolute "
        "difference, per image, between objects YOLOX counts (score ≥ 0.4) and the reference. ms/image: the "
        "time to produce the output (Veil's methods include detection).</small></p>",
    ]
    return page("Veil evaluation", sections)


def write_eval_html(report: EvalReport, path: Path) -> None:
    """Write the evaluation as one HTML file to ``path``."""
    write_page(path, render_eval_html(report))
