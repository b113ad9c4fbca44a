"""Veil: find what identifies people in images and video, and anonymize it."""

from __future__ import annotations

__version__ = "0.1.0"
