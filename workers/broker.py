"""The Redis transport, minus one thing: restoring reserved tasks when the connection closes.

kombu puts a worker's reserved, unacknowledged tasks back in the queue when its channel
closes. When the channel closes because Redis went away, that restore runs through the
connection just lost and raises, and the worker exits instead of reconnecting. Nurture
does not need the restore: the sweeper enqueues again any message still queued after
NURTURE_REQUEUE_AFTER, and a task handed out twice sends nothing twice (the claim).
"""

from __future__ import annotations

from kombu.transport import redis


class Channel(redis.Channel):
    do_restore = False


class Transport(redis.Transport):
    Channel = Channel
