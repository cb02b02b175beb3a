"""The last sign of life of each long-running process, one row per name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base


class Heartbeat(Base):
    """`dispatcher` (each pass), `beat` (its scheduler loop), `worker:<node>` (every few s)."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime]
