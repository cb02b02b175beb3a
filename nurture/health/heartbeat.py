"""Record and read heartbeats. They use real time, whatever the campaign clock's speed:
"is beat alive" is a question about seconds on the wall."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nurture.clock import utcnow
from nurture.db import upsert_insert
from nurture.health.models import Heartbeat

DISPATCHER = "dispatcher"
BEAT = "beat"
WORKER_PREFIX = "worker:"


def record(session: Session, name: str, at: datetime | None = None) -> None:
    """Say that `name` is alive now (the caller commits)."""
    moment = at or utcnow()
    statement = upsert_insert(session)(Heartbeat).values(name=name[:200], at=moment)
    session.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"at": moment}))


def record_now(factory: sessionmaker[Session], name: str) -> None:
    """`record` in a transaction of its own."""
    with factory.begin() as session:
        record(session, name)


def forget(factory: sessionmaker[Session], name: str) -> None:
    """A process that stops cleanly takes its row away, so it is not reported as lost."""
    with factory.begin() as session:
        heartbeat = session.get(Heartbeat, name)
        if heartbeat is not None:
            session.delete(heartbeat)


def read_all(session: Session) -> dict[str, datetime]:
    """Every heartbeat by name."""
    return {name: at for name, at in session.execute(select(Heartbeat.name, Heartbeat.at))}
