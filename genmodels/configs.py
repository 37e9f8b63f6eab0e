"""Helpers shared by the frozen config dataclasses: validation with messages that list valid
values, and a strict JSON round trip (checkpoints store configs as JSON)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, TypeVar

from genmodels.errors import ConfigError

C = TypeVar("C")


def check_choice(name: str, value: Any, choices) -> None:
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{name} must be one of {valid}; got {value!r}")


def check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number; got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}; got {value}")


def check_float(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number; got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}; got {value:g}")


def check_widths(name: str, widths: Any, low: int, high: int, max_len: int) -> None:
    if not isinstance(widths, tuple) or len(widths) > max_len:
        raise ConfigError(f"{name} must be a list of at most {max_len} layer widths; got {widths!r}")
    for width in widths:
        check_int(f"each of {name}", width, low, high)


def to_dict(config) -> dict:
    """A JSON-safe dict of a config dataclass (tuples become lists)."""
    return dataclasses.asdict(config)


def from_dict(cls: type[C], data: Any) -> C:
    """Rebuild a config dataclass from JSON, strictly: unknown keys are refused, lists become
    tuples, and the dataclass's own ``__post_init__`` validates every value."""
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object; got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} fields {unknown}; valid: {sorted(names)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as error:  # e.g. a value of the wrong type that __post_init__ trips on
        raise ConfigError(f"invalid {cls.__name__}: {error}") from None


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
