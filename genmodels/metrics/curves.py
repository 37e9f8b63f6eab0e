"""Loss curves as the pages draw them."""

from __future__ import annotations


def smooth(values: list[float], weight: float = 0.6) -> list[float]:
    """A loss curve smoothed by a debiased exponential moving average, as TensorBoard's smoothing
    slider computes it: dividing by (1 - weight^t) removes the pull towards the first value that a
    plain EMA has."""
    out, average = [], 0.0
    for t, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight**t))
    return out
