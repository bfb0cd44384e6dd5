"""Logging filters."""

from __future__ import annotations

import logging


class QuietBridgePolls(logging.Filter):
    """Drop request-log lines of bridges' polls that found nothing new (``GET /api/v1/bridge/…`` → 304).

    Each bridge polls several times a second; those lines would drown everything else.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("/api/v1/bridge/" in message and '" 304 ' in message)
