"""Self-contained HTML pages: tables, and matplotlib figures and images embedded as base64 PNG."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image as PILImage

from veil.errors import MissingExtraError, OutputError
from veil.types import Image

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figure_png", "figure_tag", "image_tag", "new_figure", "page", "table", "write_page"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; }
.bad { color: #b00; font-weight: bold; }
.good { color: #070; font-weight: bold; }
.pair { display: inline-block; margin: 0 1em 1em 0; vertical-align: top; }
.pair img { display: block; margin-bottom: 2px; }
small { color: #666; }
"""


def new_figure(width_in: float, height_in: float) -> Figure:
    """Return a matplotlib figure drawn off-screen (no pyplot state, safe in threads and servers).

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError(
            "the HTML report needs matplotlib: pip install 'veil[audit]'", extra="audit"
        ) from None
    figure = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def figure_png(figure: Figure) -> bytes:
    """Return ``figure`` rendered as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_tag(figure: Figure, alt: str) -> str:
    """Return an ``<img>`` element holding ``figure`` inline."""
    return f'<img src="{_data_uri(figure_png(figure))}" alt="{html.escape(alt)}">'


def image_tag(image: Image, alt: str) -> str:
    """Return an ``<img>`` element holding the RGB ``image`` inline as PNG."""
    buffer = io.BytesIO()
    PILImage.fromarray(image).save(buffer, format="PNG", optimize=True)
    return f'<img src="{_data_uri(buffer.getvalue())}" alt="{html.escape(alt)}">'


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return an HTML table; cells are escaped, ``None`` shows as an en dash."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{'–' if c is None else html.escape(str(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def page(title: str, sections: Sequence[str]) -> str:
    """Return a whole HTML document with ``sections`` (already HTML) in order."""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>" + "\n".join(sections) + "</body></html>"
    )


def write_page(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8), creating its folder.

    Raises:
        OutputError: the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
