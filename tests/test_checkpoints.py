"""Checkpoints: exact round trips, atomic writes, and a corpus of bad files, each refused with its
reason before anything is allocated or executed."""

import json
import pickle
import struct

import pytest
import safetensors.torch
import torch

from genmodels import checkpoints, registry
from genmodels.configs import TrainConfig
from genmodels.errors import CheckpointError

from .conftest import tiny_config


def saved(family, dataset, **info):
    spec = registry.family(family)
    model = registry.build_model(spec, tiny_config(family, dataset), seed=1).eval()
    meta = checkpoints.make_info(family, model, train_config=TrainConfig(epochs=2), dataset=dataset.name,
                                 metrics={"test_loss": 1.5},
                                 history=[{"step": i, "loss": 1.0 / i} for i in range(1, 500)],
                                 **info)
    return model, meta, checkpoints.checkpoint_bytes(model, meta)


@pytest.mark.parametrize("family", list(registry.FAMILIES))
def test_round_trip_gives_identical_outputs(family, sprites_small, tmp_path):
    model, meta, _ = saved(family, sprites_small)
    path = checkpoints.save_checkpoint(tmp_path / f"{family}.safetensors", model, meta)
    loaded = checkpoints.load_checkpoint(path)
    assert loaded.info.family == family and loaded.info.model_config == model.config
    assert loaded.info.train_config == TrainConfig(epochs=2) and loaded.info.metrics == {"test_loss": 1.5}
    assert len(loaded.info.history) == checkpoints.HISTORY_POINTS and loaded.info.history[-1]["step"] == 499
    if "decode" in registry.family(family).verbs:
        z = torch.randn(3, model.config.latent_dim, generator=torch.Generator().manual_seed(0))
        assert torch.equal(model.decode(z), loaded.model.decode(z))
    elif "sample" in registry.family(family).verbs:  # ddpm, flow: the same predictions (the last layer
        # starts at 0, so compare the whole state too)
        x, t = torch.randn(3, *model.data_shape, generator=torch.Generator().manual_seed(0)), torch.rand(3)
        assert torch.equal(model(x, t), loaded.model(x, t))
        assert all(torch.equal(v, loaded.model.state_dict()[k]) for k, v in model.state_dict().items())
    else:  # the feature classifier: the same logits
        assert torch.equal(model(sprites_small.test_x[:3]), loaded.model(sprites_small.test_x[:3]))
    assert not list(tmp_path.glob(".*partial"))  # no temporary file left behind


def test_a_vae_saved_with_two_posterior_heads_loads_into_the_one_head_model(sprites_small):
    """Files saved before the VAE's to_mu and to_logvar became to_posterior still load, with the
    same outputs; a split head of the wrong shape is still refused."""
    model, meta, data = saved("vae", sprites_small)
    tensors = safetensors.torch.load(data)
    mu_weight, logvar_weight = tensors.pop("to_posterior.weight").chunk(2)
    mu_bias, logvar_bias = tensors.pop("to_posterior.bias").chunk(2)
    old = {**tensors, "to_mu.weight": mu_weight.contiguous(), "to_logvar.weight": logvar_weight.contiguous(),
           "to_mu.bias": mu_bias.contiguous(), "to_logvar.bias": logvar_bias.contiguous()}
    metadata = {"genmodels": json.dumps(meta.to_json())}
    loaded = checkpoints.read_checkpoint(safetensors.torch.save(old, metadata=metadata))
    x = sprites_small.test_x[:4]
    assert torch.equal(loaded.model.encode(x).mu, model.encode(x).mu)
    assert torch.equal(loaded.model.encode(x).logvar, model.encode(x).logvar)
    wrong = {**old, "to_mu.bias": torch.zeros(len(mu_bias) + 1)}
    with pytest.raises(CheckpointError, match="to_mu.bias"):
        checkpoints.read_checkpoint(safetensors.torch.save(wrong, metadata=metadata))


def test_a_compiled_model_saves_without_the_wrapper_prefix(sprites_small):
    model, meta, _ = saved("vae", sprites_small)

    class Wrapped(torch.nn.Module):  # what torch.compile returns: the module under _orig_mod
        def __init__(self, inner):
            super().__init__()
            self._orig_mod = inner

    checkpoints.read_checkpoint(checkpoints.checkpoint_bytes(Wrapped(model), meta))


def test_an_interrupted_write_leaves_no_file(sprites_small, tmp_path, monkeypatch):
    model, meta, _ = saved("vae", sprites_small)

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.os, "fsync", fail)
    with pytest.raises(OSError):
        checkpoints.save_checkpoint(tmp_path / "v.safetensors", model, meta)
    assert list(tmp_path.iterdir()) == []


def with_header(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def rewritten(good: bytes, change) -> bytes:
    """Re-encode ``good`` after ``change(header, tensors)`` edits its metadata or tensors."""
    tensors = safetensors.torch.load(good)
    (length,) = struct.unpack("<Q", good[:8])
    metadata = json.loads(good[8:8 + length])["__metadata__"]
    document = json.loads(metadata["genmodels"])
    change(document, tensors)
    return safetensors.torch.save(tensors, metadata={"genmodels": json.dumps(document)})


class Payload:
    """Unpickling this would create a file: the test checks that it never does."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def bad_files(good: bytes, tmp_path):
    def set_family(doc, tensors):
        doc["family"] = "diffusion"

    def drop_tensor(doc, tensors):
        tensors.pop(next(iter(tensors)))

    def grow_tensor(doc, tensors):
        name = next(k for k, v in tensors.items() if v.ndim == 2)
        tensors[name] = torch.zeros(tensors[name].shape[0] + 1, tensors[name].shape[1])

    def poison(doc, tensors):
        name = next(k for k, v in tensors.items() if v.is_floating_point())
        tensors[name] = tensors[name].clone()
        tensors[name].view(-1)[0] = float("nan")

    def huge_model(doc, tensors):
        doc["model_config"]["hidden"] = [4096]  # a valid config whose shapes the file lacks

    def to_f64(doc, tensors):
        name = next(iter(tensors))
        tensors[name] = tensors[name].double()

    def bad_config(doc, tensors):
        doc["model_config"]["latent_dim"] = -3

    def family_list(doc, tensors):
        doc["family"] = ["vae"]

    def empty_hidden(doc, tensors):
        doc["model_config"]["hidden"] = []

    def junk_metrics(doc, tensors):
        doc["metrics"] = {"test_loss": "high"}

    def junk_history(doc, tensors):
        doc["history"] = [1, 2, 3]

    def header_edit(edit):
        """Re-encode ``good`` with its JSON header changed by ``edit(header)`` (offsets kept)."""
        (length,) = struct.unpack("<Q", good[:8])
        header = json.loads(good[8:8 + length])
        edit(header)
        raw = json.dumps(header).encode()
        return struct.pack("<Q", len(raw)) + raw + good[8 + length:]

    first = next(k for k in json.loads(good[8:8 + struct.unpack("<Q", good[:8])[0]]) if k != "__metadata__")

    torch_save = tmp_path / "torch_save.pt"
    torch.save({"w": torch.zeros(2)}, torch_save)
    return {
        "pickle": (pickle.dumps(Payload(str(tmp_path / "pwned"))), "pickle or torch.save"),
        "torch.save": (torch_save.read_bytes(), "pickle or torch.save"),
        "empty": (b"", "too short"),
        "garbage": (b"\x07" * 100, "not a safetensors checkpoint"),
        "a text file": (b"not a checkpoint, just a note\n", "not a safetensors checkpoint"),
        "truncated in header": (good[:20], "truncated"),
        "truncated in data": (good[:-100], "offsets|truncated"),
        "absurd header length": (struct.pack("<Q", 2**60) + b"{}", "absurd"),
        "header not json": (struct.pack("<Q", 4) + b"\xff\xfe{]", "not valid JSON"),
        "no metadata": (with_header({}), "no genmodels metadata"),
        "unknown family": (rewritten(good, set_family), "unknown model family 'diffusion'"),
        "invalid config": (rewritten(good, bad_config), "latent_dim must be between"),
        "missing tensor": (rewritten(good, drop_tensor), "missing"),
        "wrong shape": (rewritten(good, grow_tensor), "should be F32 of shape"),
        "wrong dtype": (rewritten(good, to_f64), "should be F32"),
        "non-finite": (rewritten(good, poison), "NaN or infinite"),
        "shapes of a huge model": (rewritten(good, huge_model), "should be F32 of shape"),
        "family not a string": (rewritten(good, family_list), "does not name its model family"),
        "vae without hidden layers": (rewritten(good, empty_hidden), "needs at least one hidden layer"),
        "junk metrics": (rewritten(good, junk_metrics), "metrics are malformed"),
        "junk history": (rewritten(good, junk_history), "history is malformed"),
        "tensor entry not an object": (header_edit(lambda h: h.__setitem__(first, [1, 2])), "malformed header entry"),
        "string offsets": (header_edit(lambda h: h[first].__setitem__("data_offsets", ["0", "1"])), "offsets"),
        "shape not a list": (header_edit(lambda h: h[first].__setitem__("shape", 5)), "should be F32 of shape"),
        "deeply nested metadata": (with_header({"__metadata__": {"genmodels": "[" * 100_000}}), "not valid JSON"),
    }


def test_every_kind_of_bad_checkpoint_is_refused_with_its_reason(sprites_small, tmp_path):
    _, _, good = saved("vae", sprites_small)
    checkpoints.read_checkpoint(good)  # the starting point is valid
    for name, (payload, reason) in bad_files(good, tmp_path).items():
        with pytest.raises(CheckpointError, match=reason):
            checkpoints.read_checkpoint(payload)
            pytest.fail(f"the {name} file was accepted")
    assert not (tmp_path / "pwned").exists()  # the pickle's code never ran


def test_a_file_over_the_size_cap_is_refused_unread(sprites_small, tmp_path, monkeypatch):
    _, _, good = saved("vae", sprites_small)
    path = tmp_path / "big.safetensors"
    path.write_bytes(good)
    monkeypatch.setattr(checkpoints, "MAX_CHECKPOINT_BYTES", len(good) - 1)
    with pytest.raises(CheckpointError, match="big.safetensors is .* MiB; checkpoints over"):
        checkpoints.load_checkpoint(path)
    with pytest.raises(CheckpointError, match="checkpoints over"):
        checkpoints.read_checkpoint(good)


def test_a_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read"):
        checkpoints.load_checkpoint(tmp_path / "nope.safetensors")


def test_no_genuine_checkpoint_is_mistaken_for_a_pickle(sprites_small):
    # The 8-byte header length is little-endian: about 1 length in 32 starts with byte 0x80,
    # which once tripped a naive "starts with the pickle opcode" check. Vary the name to vary it.
    model, _, _ = saved("vae", sprites_small)
    seen_0x80 = 0
    for length in range(0, 300, 3):
        payload = checkpoints.checkpoint_bytes(model, checkpoints.make_info("vae", model, name="n" * length))
        seen_0x80 += payload[0] == 0x80
        checkpoints.read_checkpoint(payload)
    assert seen_0x80 > 0  # the case really occurred
