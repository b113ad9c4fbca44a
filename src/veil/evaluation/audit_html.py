"""Render an audit as one self-contained HTML file: summary tables, a timeline, the riskiest frames."""

from __future__ import annotations

import html
from pathlib import Path

from veil.evaluation.audit_report import AuditedFrame, AuditReport
from veil.evaluation.html_report import figure_tag, image_tag, new_figure, page, table, write_page
from veil.types import ObjectClass

__all__ = ["render_audit_html", "write_audit_html"]

_MAX_TIMELINES = 6
_MAX_REVIEW_ROWS = 100
_COLOURS = {
    ObjectClass.FACE: "tab:blue",
    ObjectClass.LICENSE_PLATE: "tab:green",
    ObjectClass.TEXT: "tab:purple",
}


def write_audit_html(report: AuditReport, path: Path) -> None:
    """Write the audit report as one HTML file (images embedded) to ``path``."""
    write_page(Path(path), render_audit_html(report))


def render_audit_html(report: AuditReport) -> str:
    """Return the audit report as an HTML document."""
    sections = [
        f"<p>Anonymized: <code>{html.escape(report.anonymized)}</code><br>"
        f"Original: <code>{html.escape(report.original)}</code><br>"
        f"{len(report.files)} file(s), {len(report.frames)} frame(s) attacked in {report.seconds:.1f} s"
        f"{_sampling_note(report)}</p>",
        _verdict(report),
        "<h2>Per class</h2>" + _class_table(report),
        "<h2>Needs a human look</h2>" + _review_table(report),
        "<h2>Timeline</h2>" + _timeline(report),
        "<h2>Riskiest frames, before and after</h2>" + _worst(report),
    ]
    if report.notes or report.failures:
        lines = [*report.failures, *report.notes]
        sections.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in lines) + "</ul>")
    sections.append(_method())
    return page("Veil privacy audit", sections)


def _sampling_note(report: AuditReport) -> str:
    if not any(f.kind == "video" for f in report.files):
        return ""
    interval = report.options.sample_interval_s
    return "; videos: every frame" if interval == 0 else f"; videos: one frame every {interval:g} s"


def _verdict(report: AuditReport) -> str:
    rate = report.leak_rate()
    targeted = ", ".join(c.value for c in report.headline_classes()) or "none of the audited classes"
    untargeted = report.untargeted_classes()
    aside = (
        f" Not targeted, so not in the rate: {', '.join(c.value for c in untargeted)}." if untargeted else ""
    )
    if rate is None:
        return (
            f"<p>Nothing identifying of the targeted classes ({html.escape(targeted)}) was found.{aside}</p>"
        )
    kind = "bad" if rate > 0 else "good"
    return (
        f'<p class="{kind}">Leak rate: {rate:.1%} of identifying items of the targeted classes '
        f"({targeted}) still found or read.{aside}</p>"
    )


def _class_table(report: AuditReport) -> str:
    rows = []
    for label in report.classes():
        if label is ObjectClass.PERSON:
            continue
        s = report.summary(label)
        rows.append(
            [
                label.value if label in report.options.targets else f"{label.value} (not targeted)",
                s.items,
                s.leaked,
                _pct(s.leak_rate),
                s.uncertain,
                _pct(s.detail_mean),
                _pct(s.detail_max),
            ]
        )
    header = ["class", "found on originals", "still found/read", "leak rate", "uncertain", "detail left"]
    out = table([*header, "detail left (max)"], rows)
    if ObjectClass.PERSON in report.options.classes:
        p = report.persons()
        out += "<p>Person re-identification of the bodies left un-hidden: not part of the leak rate.</p>"
        out += table(
            ["persons", "crops compared", "re-identified (rank-1)", "rank-1 rate", "chance"],
            [["person", p.queries, p.hits, _pct(p.rank1), _pct(p.chance if p.queries else None)]],
        )
    return out


def _review_table(report: AuditReport) -> str:
    ranges = report.review()
    if not ranges:
        return f"<p>No attacked frame reached risk {report.options.review_min_risk:g}.</p>"
    rows = [
        [
            r.file,
            str(r.first_index) if r.first_index == r.last_index else f"{r.first_index}–{r.last_index}",
            None if r.start_s is None else f"{r.start_s:.1f}–{r.end_s:.1f} s",
            f"{r.risk:.2f}",
            r.leaks,
            r.uncertain,
        ]
        for r in ranges[:_MAX_REVIEW_ROWS]
    ]
    more = (
        f"<p><small>{len(ranges) - _MAX_REVIEW_ROWS} more in the JSON.</small></p>"
        if len(ranges) > _MAX_REVIEW_ROWS
        else ""
    )
    return table(["file", "frames", "time", "risk", "leaks", "uncertain"], rows) + more


def _timeline(report: AuditReport) -> str:
    """Plot, per video (and once for all still images), items found, leaks and risk over time."""
    groups: dict[str, list[AuditedFrame]] = {}
    videos = {f.path for f in report.files if f.kind == "video"}
    for frame in report.frames:
        groups.setdefault(frame.file if frame.file in videos else "still images", []).append(frame)
    if not groups:
        return "<p>No frame was attacked.</p>"
    names = list(groups)[:_MAX_TIMELINES]
    figure = new_figure(11.0, 2.4 * len(names))
    axes = figure.subplots(len(names), 1, squeeze=False)[:, 0]
    leak_classes = [c for c in report.classes() if c is not ObjectClass.PERSON]
    for axis, name in zip(axes, names, strict=True):
        frames = groups[name]
        is_video = name in videos
        xs = [f.time_s or 0.0 for f in frames] if is_video else list(range(len(frames)))
        for label in leak_classes:
            found = [sum(i.label is label and i.confident for i in f.audit.items) for f in frames]
            axis.step(xs, found, where="post", color=_COLOURS[label], label=f"{label.value} found")
        leaks = [sum(i.leaked and i.label is not ObjectClass.PERSON for i in f.audit.items) for f in frames]
        leak_x = [x for x, n in zip(xs, leaks, strict=True) if n]
        axis.scatter(leak_x, [n for n in leaks if n], color="red", marker="x", zorder=3, label="leaks")
        risk_axis = axis.twinx()
        risk_axis.plot(xs, [f.audit.risk for f in frames], color="0.5", linewidth=0.8, label="risk")
        risk_axis.axhline(report.options.review_min_risk, color="orange", linewidth=0.6, linestyle="--")
        risk_axis.set_ylabel("risk")
        risk_axis.set_ylim(bottom=0)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("time (s)" if is_video else "image")
        axis.set_ylabel("items")
        axis.legend(loc="upper left", fontsize=7)
    omitted = len(groups) - len(names)
    note = f"<p><small>{omitted} more file(s) not plotted.</small></p>" if omitted else ""
    return figure_tag(figure, "timeline of items, leaks and risk") + note


def _worst(report: AuditReport) -> str:
    if not report.worst:
        return "<p>No frame showed anything identifying.</p>"
    cells = []
    for frame in report.worst:
        where = f"frame {frame.index}" + ("" if frame.time_s is None else f", {frame.time_s:.1f} s")
        caption = html.escape(f"{frame.file}, {where}: risk {frame.risk:.2f}")
        cells.append(
            f'<div class="pair">{image_tag(frame.before, "original")}{image_tag(frame.after, "anonymized")}'
            f"<small>{caption}<br>top: original, bottom: anonymized; red: leaked, orange: near</small></div>"
        )
    return "".join(cells)


def _method() -> str:
    return (
        "<h2>How this was measured</h2><p><small>The attacks do not reuse the anonymizer's detectors or "
        "thresholds, so what it missed shows up here. Faces: YuNet and CenterFace, each at 1× and 2×, find "
        "the faces of each original frame; a face leaks when either finds it again at the same place in the "
        "anonymized frame. Plates and text: RapidOCR's whole PP-OCRv4 pipeline reads the original upscaled "
        "2×; a reading of 5–8 letters or digits with at least 2 of each is a plate, other readings are text; "
        "its recognizer reads the same crop on both, and a plate leaks when half its characters are read "
        "again, text when the reading is within one character in four. Only the classes the anonymizer "
        "targeted count in the leak rate. Persons: each anonymized person crop is matched against the "
        "original crops of its frame with person-reidentification-retail-0248; rank-1 is the share matched "
        "to the right person. Risk: how close an item came to leaking (1.0 is a leak) or the share of its "
        "detail left, whichever is higher.</small></p>"
    )


def _pct(value: float | None) -> str | None:
    return None if value is None else f"{value:.1%}"
