"""Checkpoints: one ``.safetensors`` file per model, its configs and story in the metadata.

A safetensors file is an 8-byte little-endian header length, a JSON header (tensor names, dtypes,
shapes, byte offsets, and a string-to-string ``__metadata__``), then raw tensor bytes. It holds no
code, so loading one cannot run anything. We put one JSON document under ``__metadata__["genmodels"]``:

    {"format_version": 1, "family": "vae", "name": ..., "model_config": {...},
     "train_config": {...}, "dataset": "fashion-mnist", "metrics": {...},
     "history": [{"step": 20, "loss": ...}, ...], "created_at": "...", "package_version": "..."}

Loading an untrusted file (``read_checkpoint``) checks, before allocating any tensor: the size cap,
that it is not a pickle / torch.save zip, a sane header length, the header JSON, a known family and
a valid config, and that every tensor name, dtype and shape is exactly what that config builds
(worked out on the meta device, which allocates nothing). Then it loads the bytes, refuses
non-finite values and loads the model strictly. Nothing is ever unpickled. Files in an older
tensor layout of the same format are brought to the current one (``split_vae_head_layout``).
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from safetensors.torch import load as load_safetensors_bytes  # parses raw tensors; no pickle

import genmodels
from genmodels import registry
from genmodels.configs import TrainConfig, from_dict, to_dict
from genmodels.errors import CheckpointError, ConfigError
from genmodels.i18n import L_
from genmodels.runtime import env_int

FORMAT_VERSION = 1
MAX_CHECKPOINT_BYTES = env_int("GENLAB_MAX_CHECKPOINT_MB", 64, 1, 65536) * 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024  # our headers are a few KiB; anything near this is hostile
HISTORY_POINTS = 200  # loss-history points kept in the metadata
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


@dataclass(frozen=True)
class CheckpointInfo:
    family: str
    name: str
    model_config: Any  # the family's config dataclass
    train_config: TrainConfig | None
    dataset: str
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    created_at: str = ""
    package_version: str = ""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict:
        return {
            "format_version": self.format_version, "family": self.family, "name": self.name,
            "model_config": to_dict(self.model_config),
            "train_config": to_dict(self.train_config) if self.train_config else None,
            "dataset": self.dataset, "metrics": self.metrics, "history": self.history,
            "created_at": self.created_at, "package_version": self.package_version,
        }


@dataclass(frozen=True)
class LoadedCheckpoint:
    model: torch.nn.Module  # on the CPU, in eval mode
    info: CheckpointInfo


def thin_history(history: list[dict], points: int = HISTORY_POINTS) -> list[dict]:
    """At most ``points`` entries, evenly spaced, always keeping the last."""
    if len(history) <= points:
        return list(history)
    stride = len(history) / points
    return [history[int(i * stride)] for i in range(points - 1)] + [history[-1]]


def make_info(family: str, model, *, name: str = "", train_config: TrainConfig | None = None, dataset: str = "",
              metrics: dict | None = None, history: list | None = None) -> CheckpointInfo:
    return CheckpointInfo(
        family=family, name=name or family, model_config=model.config, train_config=train_config,
        dataset=dataset, metrics=dict(metrics or {}), history=thin_history(history or []),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        package_version=genmodels.__version__,
    )


def checkpoint_bytes(model: torch.nn.Module, info: CheckpointInfo) -> bytes:
    """The checkpoint as bytes (for a download button)."""
    module = getattr(model, "_orig_mod", model)  # torch.compile wraps the module: save the original
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    return safetensors.torch.save(tensors, metadata={"genmodels": json.dumps(info.to_json())})


def save_checkpoint(path: str | Path, model: torch.nn.Module, info: CheckpointInfo) -> Path:
    return write_atomically(path, checkpoint_bytes(model, info))


def write_atomically(path: str | Path, payload: bytes) -> Path:
    """Write a temporary file in the same folder, then rename it, so an interrupted write never
    leaves half a file under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(partial, 0o666 & ~umask)  # mkstemp makes 0600; a checkpoint is an ordinary file
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------------------------
# Loading untrusted bytes
# --------------------------------------------------------------------------------------------

def looks_like_pickle(data: bytes) -> bool:
    """A pickle starts with PROTO (0x80) and a protocol number 2-5; torch.save writes a zip."""
    return (data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")) or data[:4] == b"PK\x03\x04"


def parse_header(data: bytes) -> tuple[dict, int]:
    """The JSON header and where the tensor bytes start, after the structural checks. (The pickle
    diagnosis is only made once the bytes fail to parse as safetensors: a valid header length can
    start with 0x80 too.)"""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(L_("the file is {size} MiB; checkpoints over {limit} MiB are refused",
                                 size=f"{len(data) / 2**20:.1f}", limit=MAX_CHECKPOINT_BYTES // 2**20))
    try:
        return parse_safetensors_header(data)
    except CheckpointError:
        if looks_like_pickle(data):
            raise CheckpointError(L_("this is a pickle or torch.save file, not a .safetensors checkpoint; pickles "
                                     "can run code, so they are never loaded. Save with safetensors instead.")) \
                from None
        raise


def parse_safetensors_header(data: bytes) -> tuple[dict, int]:
    if len(data) < 8:
        raise CheckpointError(L_("the file is too short to be a safetensors checkpoint (empty or truncated)"))
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > MAX_HEADER_BYTES:
        if data[8:9] != b"{":  # not even the "{" that starts a safetensors header: another kind of file
            raise CheckpointError(L_("this is not a safetensors checkpoint (a text file, a picture, ...?); the lab "
                                     "loads the .safetensors files it saves"))
        raise CheckpointError(L_("the header claims {size} bytes, which is absurd for a checkpoint; the file is "
                                 "corrupt or not a safetensors file", size=header_length))
    if 8 + header_length > len(data):
        raise CheckpointError(L_("the file is truncated: it ends inside its header"))
    header = parse_json(data[8:8 + header_length], L_("the header"))
    if not isinstance(header, dict):
        raise CheckpointError(L_("the header is not a JSON object: this is not a safetensors file"))
    return header, 8 + header_length


def parse_json(raw, what: str):
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, TypeError):
        raise CheckpointError(L_("{what} is not valid JSON: this is not a genmodels safetensors file",
                                 what=what)) from None


def upgrade(document: dict) -> dict:
    """Bring an older metadata document to FORMAT_VERSION (there is only version 1 so far)."""
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(L_("unsupported checkpoint format_version {version}; this genmodels reads version "
                                 "{supported}", version=repr(version), supported=FORMAT_VERSION))
    return document


def parse_info(header: dict) -> CheckpointInfo:
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or "genmodels" not in metadata:
        raise CheckpointError(L_("this safetensors file has no genmodels metadata, so the model it holds is "
                                 "unknown; only checkpoints saved by the Generative Models Lab load here"))
    document = parse_json(metadata["genmodels"], L_("the genmodels metadata"))
    if not isinstance(document, dict):
        raise CheckpointError(L_("the genmodels metadata is not a JSON object"))
    document = upgrade(document)
    if not isinstance(document.get("family"), str):
        raise CheckpointError(L_("the checkpoint does not name its model family"))
    try:
        spec = registry.family(document.get("family"))
        model_config = from_dict(spec.config_class, document.get("model_config"))
        train_config = document.get("train_config")
        train_config = from_dict(TrainConfig, train_config) if train_config is not None else None
    except ConfigError as error:
        raise CheckpointError(L_("the checkpoint's configuration is invalid: {error}", error=error)) from None
    metrics = document.get("metrics") or {}
    history = document.get("history") or []
    if not (isinstance(metrics, dict) and all(is_finite_number(v) for v in metrics.values())):
        raise CheckpointError(L_("the checkpoint's metrics are malformed (expected names with finite numbers)"))
    if not (isinstance(history, list) and all(isinstance(row, dict) and all(is_finite_number(v) for v in row.values())
                                              for row in history)):
        raise CheckpointError(L_("the checkpoint's loss history is malformed (expected rows of finite numbers)"))
    return CheckpointInfo(
        family=spec.name, name=str(document.get("name") or spec.name), model_config=model_config,
        train_config=train_config, dataset=str(document.get("dataset", "")), metrics=metrics, history=history,
        created_at=str(document.get("created_at", "")), package_version=str(document.get("package_version", "")),
    )


def is_finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def expected_tensors(info: CheckpointInfo) -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (dtype name, shape) of the state dict the config builds, computed on the meta
    device so that even a config asking for a huge model allocates nothing."""
    with torch.device("meta"):
        model = registry.family(info.family).model_class(info.model_config)
    return {k: (DTYPE_NAMES[v.dtype], tuple(v.shape)) for k, v in model.state_dict().items()}


# VAE checkpoints saved before 2026-11-24 hold the posterior's head as two layers, to_mu and
# to_logvar; the model now has one, to_posterior, whose rows are the two stacked (mean first).
SPLIT_VAE_HEADS = ("to_mu", "to_logvar")


def holds_split_vae_heads(info: CheckpointInfo, header: dict) -> bool:
    """Whether the file is a VAE in the older two-head layout."""
    return info.family == "vae" and f"{SPLIT_VAE_HEADS[0]}.weight" in header


def split_vae_head_layout(expected: dict) -> dict:
    """``expected`` (see expected_tensors) as an older VAE file stores it: to_posterior's weight
    (2L, F) and bias (2L,) as to_mu's and to_logvar's, (L, F) and (L,) each."""
    layout = {k: v for k, v in expected.items() if not k.startswith("to_posterior.")}
    for part in ("weight", "bias"):
        dtype, shape = expected[f"to_posterior.{part}"]
        for head in SPLIT_VAE_HEADS:
            layout[f"{head}.{part}"] = (dtype, (shape[0] // 2, *shape[1:]))
    return layout


def join_vae_heads(tensors: dict) -> dict:
    """An older VAE file's tensors in the current layout: to_mu and to_logvar stacked into to_posterior."""
    for part in ("weight", "bias"):
        tensors[f"to_posterior.{part}"] = torch.cat([tensors.pop(f"{head}.{part}") for head in SPLIT_VAE_HEADS])
    return tensors


def check_tensors(header: dict, expected: dict, data_bytes: int) -> None:
    found = {k: v for k, v in header.items() if k != "__metadata__"}
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unexpected:
        raise CheckpointError(L_("the tensors do not match the model its config describes: missing {missing}, "
                                 "unexpected {unexpected}", missing=missing[:5], unexpected=unexpected[:5]))
    total = 0
    for name, (dtype, shape) in expected.items():
        entry = found[name]
        if not isinstance(entry, dict):
            raise CheckpointError(L_("tensor {name} has a malformed header entry", name=repr(name)))
        file_shape = entry.get("shape")
        if entry.get("dtype") != dtype or not isinstance(file_shape, list) or tuple(file_shape) != shape:
            raise CheckpointError(L_("tensor {name} should be {dtype} of shape {shape}, the file has {found_dtype} of "
                                     "shape {found_shape}", name=repr(name), dtype=dtype, shape=list(shape),
                                     found_dtype=repr(entry.get("dtype")), found_shape=repr(file_shape)))
        offsets = entry.get("data_offsets")
        size = torch.empty((), dtype=DTYPES[dtype]).element_size() * math.prod(shape)
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(is_finite_number(o) for o in offsets)
                and offsets[1] - offsets[0] == size and 0 <= offsets[0] and offsets[1] <= data_bytes):
            raise CheckpointError(L_("tensor {name} has corrupt byte offsets (truncated file?)", name=repr(name)))
        total += size
    if total != data_bytes:
        raise CheckpointError(L_("the file holds {size} bytes of tensor data where {expected} were expected "
                                 "(truncated or padded)", size=data_bytes, expected=total))


def read_checkpoint(data: bytes) -> LoadedCheckpoint:
    """Validate and load a checkpoint from untrusted bytes. Raises CheckpointError, naming the
    reason, for anything that is not a valid checkpoint of a known family."""
    try:
        header, data_start = parse_header(data)
        info = parse_info(header)
        split_heads = holds_split_vae_heads(info, header)
        expected = expected_tensors(info)
        check_tensors(header, split_vae_head_layout(expected) if split_heads else expected, len(data) - data_start)
    except CheckpointError:
        raise
    except (TypeError, ValueError, AttributeError, IndexError, KeyError, RecursionError) as error:
        # A last line of defence: whatever shape of nonsense the checks above did not foresee.
        raise CheckpointError(L_("the checkpoint is malformed ({error})", error=f"{type(error).__name__}: {error}")) \
            from None
    try:
        tensors = load_safetensors_bytes(data)
    except Exception as error:  # safetensors raises its own SafetensorError for malformed files
        raise CheckpointError(L_("the safetensors data is malformed: {error}", error=error)) from None
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(L_("tensor {name} holds NaN or infinite values; the model is broken",
                                     name=repr(name)))
    if split_heads:
        tensors = join_vae_heads(tensors)
    model = registry.empty_model(registry.family(info.family), info.model_config)
    model.load_state_dict(tensors, strict=True)
    return LoadedCheckpoint(model=model.eval(), info=info)


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(L_("{file} is {size} MiB; checkpoints over {limit} MiB are refused", file=path.name,
                                     size=f"{size / 2**20:.1f}", limit=MAX_CHECKPOINT_BYTES // 2**20))
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(L_("cannot read {file}: {reason}", file=path, reason=error.strerror or error)) from None
    try:
        return read_checkpoint(data)
    except CheckpointError as error:
        raise CheckpointError(L_("{file}: {reason}", file=path.name, reason=error)) from None
