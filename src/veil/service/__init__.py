"""Veil as a service: a secure HTTP API with a job store, worker processes and a web console.

Example::

    from pathlib import Path
    from veil.service import ServiceSettings, create_app

    app = create_app(ServiceSettings(data_dir=Path("/srv/veil"), workers=2))   # an ASGI app
"""

from __future__ import annotations

from veil.service.app import create_app
from veil.service.keys import parse_scopes
from veil.service.server import serve
from veil.service.settings import Limits, ServiceSettings
from veil.service.state import ServiceState

__all__ = ["Limits", "ServiceSettings", "ServiceState", "create_app", "parse_scopes", "serve"]
