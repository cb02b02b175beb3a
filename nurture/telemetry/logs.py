"""How every long-running process logs: one JSON object per line in production (for a
log collector), readable text in development; addresses and numbers masked in both.

The code logs leads and messages by public id and ref, never by address. The filter
here is the net under that rule: a library or a future log line that quotes an email
address or a phone number still never writes one.
"""

from __future__ import annotations

import logging
import re
from typing import Any

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# E.164 (+12175550142) and the usual North American spellings ((217) 555-0142).
PHONE = re.compile(r"\+\d{8,15}\b|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text: str) -> str:
    """`text` with email addresses and phone numbers replaced by placeholders."""
    return PHONE.sub("[phone]", EMAIL.sub("[email]", text))


class RedactPersonalData(logging.Filter):
    """Masks addresses and numbers in the final message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def logging_config(as_json: bool, level: str = "INFO") -> dict[str, Any]:
    """A logging.config.dictConfig for the root, Celery's and uvicorn's loggers."""
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if as_json
        else {"format": TEXT_FORMAT}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "main",
        "filters": ["redact"],
        "stream": "ext://sys.stderr",
    }
    # uvicorn and Celery otherwise add their own handlers; everything goes to ours.
    passthrough = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactPersonalData}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "root": {"level": level.upper(), "handlers": ["main"]},
        "loggers": {
            "uvicorn": passthrough,
            "uvicorn.error": passthrough,
            "uvicorn.access": passthrough,
            "celery": passthrough,
            "kombu.connection": {"level": "ERROR"},  # "no hostname" chatter for memory://
            # The Twilio SDK logs every request's URL and headers at INFO.
            "twilio.http_client": {"level": "WARNING"},
        },
    }


def configure_logging(as_json: bool, level: str = "INFO") -> None:
    """Apply `logging_config` to this process."""
    import logging.config

    logging.config.dictConfig(logging_config(as_json, level))
