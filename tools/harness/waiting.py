"""Waiting for something to happen, and the figures measured meanwhile."""

import time


def percentile(values, fraction):
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def wait_for(condition, timeout, interval=0.2, what="the condition", detail=None):
    """Calls ``condition`` until it returns something true (returned), or
    raises TimeoutError after ``timeout`` seconds, with what ``detail()``
    says then."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            message = f"{what} did not happen within {timeout} s"
            if detail is not None:
                message += f": {detail()}"
            raise TimeoutError(message)
        time.sleep(interval)
