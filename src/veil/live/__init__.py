"""Live input and output: cameras and network streams in, a file or a network stream out, forward-only.

Example::

    from veil.api import LiveSettings, open_pipeline

    with open_pipeline(config) as pipeline:
        report = pipeline.stream("tcp://127.0.0.1:5000?listen", "udp://127.0.0.1:5001?pkt_size=1316",
                                 LiveSettings(latency_budget_ms=150))
"""

from veil.live.report import LatencyStats, LiveReport
from veil.live.runner import run_stream
from veil.live.settings import LiveSettings

__all__ = ["LatencyStats", "LiveReport", "LiveSettings", "run_stream"]
