"""Write anonymized frames into short, self-contained MP4 segments (written aside, then renamed)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

__all__ = ["SegmentWriter"]


class SegmentWriter:
    """Encode frames into ``folder/PREFIX-NNNNNN.mp4`` files of ``frames_per_segment`` frames each."""

    def __init__(
        self, folder: Path, prefix: str, frame_rate: Fraction, frames_per_segment: int, crf: int = 23
    ) -> None:
        self._folder = folder
        self._prefix = prefix
        self._rate = frame_rate
        self._per_segment = max(1, frames_per_segment)
        self._crf = crf
        self._index = 0
        self._count = 0
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._partial: Path | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def _open(self, width: int, height: int) -> None:
        self._partial = self._folder / f"{self._prefix}-{self._index:06d}.mp4.partial"
        self._container = av.open(str(self._partial), "w", format="mp4")
        stream = self._container.add_stream("libx264", rate=self._rate)
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self._crf), "preset": "veryfast"}
        self._stream = stream
        self._count = 0

    def write(self, image: npt.NDArray[np.uint8]) -> Path | None:
        """Add one anonymized RGB frame; return the segment file that this frame completed, if any."""
        if self._container is None:
            self._open(image.shape[1], image.shape[0])
        assert self._container is not None and self._stream is not None
        even = image[: self._stream.height, : self._stream.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="rgb24")
        frame.pts = self._count
        frame.time_base = 1 / self._rate
        self._container.mux(self._stream.encode(frame))
        self._count += 1
        return self.flush() if self._count >= self._per_segment else None

    def flush(self) -> Path | None:
        """Finish the current segment and return its file (None when no frame was written)."""
        if self._container is None or self._stream is None or self._partial is None:
            return None
        self._container.mux(self._stream.encode(None))
        self._container.close()
        done = self._partial.with_suffix("")  # drop ".partial"
        self._partial.replace(done)
        self._container, self._stream, self._partial = None, None, None
        self._index += 1
        return done
