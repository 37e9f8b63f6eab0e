"""Helpers shared by the frozen config dataclasses: validation with messages that list valid
values, and a strict JSON round trip (checkpoints store configs as JSON)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, TypeVar

from genmodels.errors import ConfigError
from genmodels.i18n import L_

C = TypeVar("C")


def check_choice(name: str, value: Any, choices) -> None:
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ConfigError(L_("{name} must be one of {valid}; got {value}", name=name, valid=valid, value=repr(value)))


def check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(L_("{name} must be a whole number; got {value}", name=name, value=repr(value)))
    if not low <= value <= high:
        raise ConfigError(L_("{name} must be between {low} and {high}; got {value}", name=name, low=low, high=high,
                             value=value))


def check_float(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(L_("{name} must be a finite number; got {value}", name=name, value=repr(value)))
    if not low <= value <= high:
        raise ConfigError(L_("{name} must be between {low} and {high}; got {value}", name=name, low=f"{low:g}",
                             high=f"{high:g}", value=f"{value:g}"))


def check_widths(name: str, widths: Any, low: int, high: int, max_len: int) -> None:
    if not isinstance(widths, tuple) or len(widths) > max_len:
        raise ConfigError(L_("{name} must be a list of at most {count} layer widths; got {value}", name=name,
                             count=max_len, value=repr(widths)))
    for width in widths:
        check_int(L_("each of {name}", name=name), width, low, high)


def to_dict(config) -> dict:
    """A JSON-safe dict of a config dataclass (tuples become lists)."""
    return dataclasses.asdict(config)


def from_dict(cls: type[C], data: Any) -> C:
    """Rebuild a config dataclass from JSON, strictly: unknown keys are refused, lists become
    tuples, and the dataclass's own ``__post_init__`` validates every value."""
    if not isinstance(data, dict):
        raise ConfigError(L_("{config} must be a JSON object; got {type}", config=cls.__name__,
                             type=type(data).__name__))
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(L_("unknown {config} fields {unknown}; valid: {valid}", config=cls.__name__, unknown=unknown,
                             valid=sorted(names)))
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as error:  # e.g. a value of the wrong type that __post_init__ trips on
        raise ConfigError(L_("invalid {config}: {error}", config=cls.__name__, error=error)) from None


DEVICES = ("auto", "cpu", "cuda", "mps")
# The one learning-rate ladder every page offers: 1, 2, 5 per decade.
LEARNING_RATES = (1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 5
    max_steps: int = 0  # stop after this many optimizer steps in total; 0 = no limit
    batch_size: int = 128
    lr: float = 1e-3
    lr_discriminator: float = 0.0  # GANs: the discriminator's learning rate; 0 = same as lr
    seed: int = 0
    device: str = "auto"
    log_every: int = 20  # steps between Step events; each costs one host sync
    snapshot_every: int = 200  # steps between Snapshot events; 0 = only at epoch ends
    snapshot_count: int = 16  # images (or 16x as many points) in each snapshot
    max_seconds: float = 0.0  # wall-clock cap; 0 = none
    ema: float = 0.0  # decay of a moving average of the weights that evaluations, snapshots and the end use; 0 = none

    def __post_init__(self):
        check_int("epochs", self.epochs, 1, 1000)
        check_int("max_steps", self.max_steps, 0, 10_000_000)
        check_int("batch_size", self.batch_size, 1, 8192)
        check_float("lr", self.lr, 1e-6, 1.0)
        if self.lr_discriminator != 0:
            check_float("lr_discriminator", self.lr_discriminator, 1e-6, 1.0)
        check_int("seed", self.seed, 0, 2**31 - 1)
        check_choice("device", self.device, DEVICES)
        check_int("log_every", self.log_every, 1, 100_000)
        check_int("snapshot_every", self.snapshot_every, 0, 10_000_000)
        check_int("snapshot_count", self.snapshot_count, 1, 64)
        check_float("max_seconds", self.max_seconds, 0.0, 7 * 24 * 3600)
        if self.ema != 0:
            check_float("ema", self.ema, 0.5, 0.99999)
