"""Sending a claimed batch so that a crash sends little twice, and a dead
receiver gets little.

A dispatcher claims a batch of deliveries (leased to it) and sends them. Had
it recorded their outcomes once the whole batch was sent, a crash (kill -9,
PostgreSQL restarted) would leave every request of the batch sent but not
recorded, and each would be sent again once its lease expired. :func:`stream`
therefore hands the results over as requests end, and starts the next
requests only when the caller asks for more, i.e. once it has recorded and
committed what it got: at any time at most ``concurrency`` requests of a
dispatcher are sent and not recorded, and only those are sent again after a
crash. Nothing is lost: a request not recorded is sent again.

Before a request starts, a :class:`Plan` says whether it goes now, waits,
or is released unsent (its delivery goes back to the queue, its attempts
unchanged): released when its endpoint's circuit opened or its pace changed
since the claim (another claim paces it anew), waiting while the endpoint
has as many requests in flight as :func:`.breaker.window` allows.
"""

import collections
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from . import breaker
from .sender import Result

SEND, WAIT, RELEASE = "send", "wait", "release"

__all__ = ["RELEASE", "SEND", "WAIT", "Plan", "stream"]


class Plan:
    """What may be sent of a batch, endpoint by endpoint (``keys[i]`` is the
    endpoint of message ``i``); ``failures`` are the endpoints' failures in a
    row when the batch was claimed.

    >>> plan = Plan([1, 1, 2], failures={1: 3}, threshold=5, concurrency=16)
    >>> plan.decide(0, flying=0), plan.decide(1, flying=2), plan.decide(2, 0)
    ('send', 'wait', 'send')
    >>> plan.learn(1, sent=True, outcome=True)
    >>> plan.decide(1, flying=2)
    'send'
    >>> plan.learn(1, sent=True, outcome=False)
    >>> plan.decide(1, flying=4)
    'wait'
    >>> plan.hold([2])
    >>> plan.decide(2, flying=0)
    'release'
    """

    def __init__(
        self, keys, failures=None, threshold=breaker.THRESHOLD, concurrency=16
    ):
        self.keys = keys
        self.threshold = threshold
        self.concurrency = concurrency
        self._failures = collections.Counter(failures or {})
        # Whether the receiver answered with a 2xx since its last failure:
        # until it does, requests go out a few at a time.
        self._answered = {}
        self._held = set()

    def decide(self, index, flying):
        """SEND, WAIT or RELEASE for message ``index``, ``flying`` requests
        of its endpoint being in flight."""
        key = self.keys[index]
        if key in self._held:
            return RELEASE
        allowed = breaker.window(
            self._failures[key],
            self._answered.get(key, False),
            self.threshold,
            self.concurrency,
        )
        return SEND if flying < allowed else WAIT

    def learn(self, key, *, sent, outcome):
        """Takes in how a request to endpoint ``key`` ended: ``outcome`` as
        :func:`.breaker.after_try` reads it (True, False or None)."""
        if not sent or outcome is None:
            return
        if outcome:
            self._failures[key], self._answered[key] = 0, True
        else:
            self._failures[key] += 1
            self._answered[key] = False

    def hold(self, keys):
        """Releases the requests of endpoints ``keys`` not started yet."""
        self._held.update(keys)


def stream(send, messages, keys, decide, concurrency):
    """Sends ``messages`` with ``send(message)`` on up to ``concurrency``
    threads; yields lists of ``(index, Result)`` as requests end or are
    released, and starts more only when asked for the next list.
    ``decide(index, flying)`` says what to do with message ``index``
    (``keys[index]`` groups the messages; ``flying`` are those of its group
    in flight).

    >>> sent = []
    >>> def send(message):
    ...     sent.append(message)
    ...     return Result(started_at=0.0, status_code=200)
    >>> one_at_a_time = lambda index, flying: SEND if flying < 1 else WAIT
    >>> steps = stream(send, ["a", "b", "c"], [1, 1, 2], one_at_a_time, 1)
    >>> [[index for index, _ in step] for step in steps], sent
    ([[0], [1], [2]], ['a', 'b', 'c'])
    >>> released = stream(send, ["d"], [1], lambda index, flying: RELEASE, 8)
    >>> [(index, result.sent) for step in released for index, result in step]
    [(0, False)]
    """
    pending = list(range(len(messages)))
    running = {}  # future: index
    flying = collections.Counter()
    with ThreadPoolExecutor(concurrency, thread_name_prefix="webhook-sender") as pool:
        while pending or running:
            ended, waiting = [], []
            for index in pending:
                verdict = (
                    WAIT
                    if len(running) >= concurrency
                    else decide(index, flying[keys[index]])
                )
                if verdict == SEND:
                    running[pool.submit(send, messages[index])] = index
                    flying[keys[index]] += 1
                elif verdict == RELEASE or not running:
                    # Nothing in flight would let a waiting one go later.
                    ended.append((index, _unsent()))
                else:
                    waiting.append(index)
            pending = waiting
            if running and not ended:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    index = running.pop(future)
                    flying[keys[index]] -= 1
                    ended.append((index, future.result()))
            yield ended


def _unsent():
    return Result(started_at=time.time(), sent=False)
