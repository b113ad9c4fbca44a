"""Remove persons and vehicles from video by filling them with the background other frames show.

The public verbs are :func:`remove_dynamic_object` (everything moving, one track, or what is in a box)
and :func:`remove_static_object` (an object that stays put, named by box or track id); both take paths
and a frozen :class:`RemovalSettings` and return a :class:`RemovalReport`.
"""

from __future__ import annotations

from veil.removal.report import FillCounts, RemovalReport
from veil.removal.settings import REMOVABLE_CLASSES, RemovalSettings
from veil.removal.video import remove_dynamic_object, remove_static_object

__all__ = [
    "REMOVABLE_CLASSES",
    "FillCounts",
    "RemovalReport",
    "RemovalSettings",
    "remove_dynamic_object",
    "remove_static_object",
]
