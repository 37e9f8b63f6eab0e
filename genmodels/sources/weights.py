"""Trained feature networks' ImageNet weights (VGG-19, SqueezeNet 1.1): found, downloaded once,
checked, loaded without unpickling.

The files are torchvision's own, in torch hub's cache (``torch.hub.get_dir()/checkpoints``), so a
machine that already has them for any other program uses them as they are. Their names end in the
first hex digits of their SHA-256 (``vgg19-dcbb9e9d.pth``): a file is used only when its hash
starts with them (the check torchvision makes), and then read with
``torch.load(weights_only=True)``, which rebuilds tensors and refuses any other object.

``GENLAB_OFFLINE=1`` never downloads; unset, a short probe of the server decides (fetch.py).
Offline without the file, the message says which file to copy where.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genmodels.errors import GenLabError
from genmodels.i18n import L_, LazyText
from genmodels.sources.fetch import online


class WeightsUnavailable(GenLabError):
    """A network's weights are not on this machine and cannot be downloaded, or are damaged."""


@dataclass(frozen=True)
class WeightsFile:
    network: str
    url: str  # torchvision's download address; the file name carries the hash prefix

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[1]

    @property
    def hash_prefix(self) -> str:
        """The hex digits after the last '-' of the name: the start of the file's SHA-256."""
        found = re.search(r"-([a-f0-9]+)\.", self.filename)
        return found.group(1) if found else ""


# The addresses torchvision's VGG19_Weights.IMAGENET1K_V1 and SqueezeNet1_1_Weights.IMAGENET1K_V1
# name (tests/test_style_weights.py checks that they still do).
WEIGHTS = {
    "vgg19": WeightsFile("vgg19", "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"),
    "squeezenet": WeightsFile("squeezenet", "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth"),
}
HOST = ("download.pytorch.org", 443)
CHUNK = 1 << 20

Progress = Callable[[int, int], None]  # (bytes so far, bytes in all, 0 if unknown)
Digest = Callable[[Path], str]  # a file -> its hex SHA-256


def cache_dir() -> Path:
    """torch hub's checkpoint folder ($TORCH_HOME/hub/checkpoints, default ~/.cache/torch/...)."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def local_file(network: str, folder: Path | None = None) -> Path | None:
    """The weights file of ``network`` if it is in the cache, else None (not checked yet)."""
    path = (folder or cache_dir()) / WEIGHTS[network].filename
    return path if path.is_file() else None


def check_file(path: Path, expected_prefix: str, digest: Digest = sha256_file) -> None:
    """Refuse a file whose SHA-256 does not start with ``expected_prefix`` (damaged, truncated or
    not the file torchvision publishes)."""
    actual = digest(path)
    if not expected_prefix or not actual.startswith(expected_prefix):
        raise WeightsUnavailable(L_("{file}: its SHA-256 starts {actual}, not {expected}: the file is damaged or not "
                                    "the one torchvision publishes. Delete it and download it again.", file=path,
                                    actual=actual[:len(expected_prefix) or 8], expected=expected_prefix or "?"))


def load_state_dict(path: Path, expected_prefix: str, digest: Digest = sha256_file) -> dict:
    """Check ``path``'s hash, then read it with ``torch.load(weights_only=True)``: tensors in, no
    other object unpickled. A file that holds anything else is refused with a message."""
    import pickle

    import torch

    check_file(path, expected_prefix, digest)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise WeightsUnavailable(L_("{file} cannot be read as weights ({error})", file=path,
                                    error=str(error).splitlines()[0][:200])) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsUnavailable(L_("{file} holds no table of weights", file=path))
    return state


def how_to_get(network: str) -> LazyText:
    """What to do offline: the command, or the file to copy and where."""
    weights = WEIGHTS[network]
    return L_("The weights of {network} are not on this machine. When online, run "
              "`python -m genmodels weights {network}`, or copy {url} to `{folder}/`.",
              network=network, url=weights.url, folder=cache_dir())


def download(network: str, progress: Progress | None = None, folder: Path | None = None,
             digest: Digest = sha256_file) -> Path:
    """Download ``network``'s weights into the cache (into a .part file, checked, then renamed, so
    a broken download never looks like a file). Raises WeightsUnavailable when offline or failing."""
    weights = WEIGHTS[network]
    folder = folder or cache_dir()
    if not online(*HOST):
        raise WeightsUnavailable(how_to_get(network))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / weights.filename
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(weights.url, timeout=30) as response, open(partial, "wb") as out:
            total, done = int(response.headers.get("Content-Length") or 0), 0
            while block := response.read(CHUNK):
                out.write(block)
                done += len(block)
                if progress is not None:
                    progress(done, total)
        check_file(partial, weights.hash_prefix, digest)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise WeightsUnavailable(L_("The download of {url} failed: {error}", url=weights.url, error=error)) from None
    except WeightsUnavailable:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def trained_state_dict(network: str, folder: Path | None = None, digest: Digest = sha256_file) -> dict:
    """The checked weights of ``network`` from the cache; WeightsUnavailable (saying how to get
    them) when they are not there. Never downloads: that is asked for first (``download``)."""
    path = local_file(network, folder)
    if path is None:
        raise WeightsUnavailable(how_to_get(network))
    return load_state_dict(path, WEIGHTS[network].hash_prefix, digest)
