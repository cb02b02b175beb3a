from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy.orm import sessionmaker

from nurture.clock import ScaledClock, anchored_clock, utcnow
from nurture.db import make_engine


def test_processes_starting_together_share_one_accelerated_clock(fresh_postgres_url: str) -> None:
    engine = make_engine(fresh_postgres_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    barrier = threading.Barrier(6)
    clocks: list[ScaledClock] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            clock = anchored_clock(factory, 1440)
            assert isinstance(clock, ScaledClock)
            clocks.append(clock)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []
    assert len({(c.real_anchor, c.virtual_anchor) for c in clocks}) == 1


def test_a_day_passes_per_real_minute_at_scale_1440(fresh_postgres_url: str) -> None:
    engine = make_engine(fresh_postgres_url)
    clock = anchored_clock(sessionmaker(engine), 1440)
    engine.dispose()
    before, real_before = clock.now(), utcnow()
    time.sleep(0.25)
    elapsed_virtual = clock.now() - before
    elapsed_real = utcnow() - real_before
    assert abs(elapsed_virtual - elapsed_real * 1440) < timedelta(seconds=30)
