"""The two ways Nurture reaches a person. A module of its own, standard library only, so
that a campaign file, the settings and a template can name a channel without loading
the database models."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
