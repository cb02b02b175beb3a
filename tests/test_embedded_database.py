"""The embedded SQLite database under concurrent work (web, worker and beat in one process)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from nurture.db import make_engine


def test_two_read_then_write_transactions_wait_for_each_other_instead_of_failing(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
    errors: list[BaseException] = []

    def increment(pause: float) -> None:
        try:
            with engine.begin() as connection:
                n = connection.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
                time.sleep(pause)  # another writer commits meanwhile
                connection.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
        except BaseException as exc:
            errors.append(exc)

    slow = threading.Thread(target=increment, args=(0.4,))
    slow.start()
    time.sleep(0.1)
    fast = threading.Thread(target=increment, args=(0.0,))
    fast.start()
    slow.join()
    fast.join()
    with engine.connect() as connection:
        total = connection.execute(text("SELECT n FROM counter")).scalar_one()
    engine.dispose()
    assert errors == []
    assert total == 2  # neither increment was lost
