"""Logging for long-running commands (`serve`, `demo`): structlog, as text for people or one
JSON object a line (D365XERO_LOG_FORMAT=json) for collectors. Fields whose names say they hold
a secret are masked, whoever logs them: a token, key or password never reaches a log."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_NAME = re.compile(r"secret|token|password|authori[sz]ation|(^|_)key$|^code$", re.I)
MASK = "***"


def mask_secrets(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    for name in list(event):
        if _SECRET_NAME.search(name):
            event[name] = MASK
    return event


def configure_logging(log_format: str = "console", level: int = logging.INFO) -> None:
    log_format = log_format if log_format in ("console", "json") else "console"
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
