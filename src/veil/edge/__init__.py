"""The edge client: anonymize a live source locally, cut it into short segments, ship them to a Veil server.

Only anonymized frames ever leave the device: frames go from the source through the pipeline into the
segment writer, and only finished segment files are uploaded.

Example::

    from veil.edge import EdgeSettings, run_edge
    report = run_edge(EdgeSettings(source="rtsp://cam7/stream", server="https://host:8443", key=KEY))
"""

from __future__ import annotations

from veil.edge.runner import EdgeReport, EdgeSettings, run_edge
from veil.edge.uploader import SegmentUploader, UploadError

__all__ = ["EdgeReport", "EdgeSettings", "SegmentUploader", "UploadError", "run_edge"]
