"""Helpers shared by the frozen config dataclasses: validation with messages that list valid
values, and a strict JSON round trip (checkpoints store configs as JSON)."""

from __future__ import annotations

import dataclasses
import math
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
