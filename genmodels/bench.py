"""``python -m genmodels bench``: our trainer against the classic recipe, side by side.

The classic recipe is re-implemented here faithfully after pytorch/examples ``vae/main.py``: a
torchvision dataset with ``ToTensor``, a shuffling ``DataLoader`` that builds each batch item by
item, a sigmoid decoder with ``F.binary_cross_entropy``, and one ``loss.item()`` (a host sync) per
step. Both train the same 784-400-20 VAE on the same Fashion-MNIST files with the same batch size,
learning rate and number of epochs; we report training images/s (evaluation excluded) and the test
negative ELBO of each. This module may use a DataLoader: it is the thing being compared against.
"""

from __future__ import annotations

import gzip
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genmodels import registry, training
from genmodels.data import IDX_FILES, find_idx_dir, load_dataset, search_dirs
from genmodels.errors import DatasetUnavailable


class ClassicVAE(nn.Module):
    """pytorch/examples vae/main.py's model, verbatim in structure."""

    def __init__(self, hidden: int = 400, latent: int = 20):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def classic_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def torchvision_root() -> Path:
    """A temporary torchvision-layout folder (FashionMNIST/raw/ with uncompressed IDX files) made
    from wherever genmodels finds Fashion-MNIST, so the classic recipe reads the same bytes."""
    for folder in search_dirs("fashion-mnist", "FashionMNIST"):
        files = find_idx_dir(folder)
        if files:
            break
    else:
        raise DatasetUnavailable("the benchmark needs Fashion-MNIST on disk (apt-get install dataset-fashion-mnist)")
    root = Path(tempfile.mkdtemp(prefix="genlab-bench-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for key, path in files.items():
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as src, open(raw / IDX_FILES[key], "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def run_classic(root: Path, epochs: int, batch_size: int, device: str, seed: int = 1) -> dict:
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    torch.manual_seed(seed)  # as the example does (a benchmark process, not the app)
    dev = torch.device(device)
    kwargs = {"num_workers": 1, "pin_memory": True} if dev.type == "cuda" else {}
    train_loader = DataLoader(datasets.FashionMNIST(str(root), train=True, download=False,
                                                    transform=transforms.ToTensor()),
                              batch_size=batch_size, shuffle=True, **kwargs)
    test_loader = DataLoader(datasets.FashionMNIST(str(root), train=False, transform=transforms.ToTensor()),
                             batch_size=batch_size, shuffle=False, **kwargs)
    model = ClassicVAE().to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_seconds, images = 0.0, 0
    for _ in range(epochs):
        model.train()
        began = time.perf_counter()
        train_loss = 0.0
        for data, _ in train_loader:
            data = data.to(dev)
            optimizer.zero_grad()
            recon, mu, logvar = model(data)
            loss = classic_loss(recon, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            images += len(data)
        train_seconds += time.perf_counter() - began
    model.eval()
    test_loss = 0.0
    with torch.no_grad():
        for data, _ in test_loader:
            data = data.to(dev)
            recon, mu, logvar = model(data)
            test_loss += classic_loss(recon, data, mu, logvar).item()
    return {"images_per_second": images / train_seconds, "test_loss": test_loss / len(test_loader.dataset),
            "train_seconds": train_seconds}


def run_ours(family: str, arch: str, epochs: int, batch_size: int, device: str, seed: int = 1, **config) -> dict:
    spec = registry.family(family)
    dataset = load_dataset("fashion-mnist", training.resolve_device(device))
    model_config = registry.model_config(spec, dataset, arch=arch, **config)
    train_config = training.TrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-3 if family == "vae" else 2e-4,
                                        seed=seed, device=device, snapshot_every=0, log_every=100)
    model = registry.build_model(spec, model_config, seed=seed)
    result = training.fit(spec, model, dataset, train_config)
    finished = result.finished
    return {"images_per_second": finished.images_per_second, "test_loss": finished.test.get("test_loss"),
            "train_seconds": finished.train_seconds}


def warm_up(device: str, steps: int = 60) -> None:
    """Untimed steps on random data, so that neither side pays for the process's first matmuls,
    allocator growth or kernel selection."""
    model = ClassicVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(128, 1, 28, 28, device=device)
    for _ in range(steps):
        optimizer.zero_grad()
        recon, mu, logvar = model(x)
        classic_loss(recon, x, mu, logvar).backward()
        optimizer.step()


def run_bench(quick: bool = False, device: str = "cpu") -> int:
    device = str(training.resolve_device(device))
    epochs = 1 if quick else 3
    root = torchvision_root()
    warm_up(device)
    rows = []
    try:
        cases = [("MLP VAE 784-400-20, batch 128", 128)] + ([] if quick else [("MLP VAE 784-400-20, batch 512", 512)])
        for title, batch_size in cases:
            classic = run_classic(root, epochs, batch_size, device)
            ours = run_ours("vae", "mlp", epochs, batch_size, device, hidden=(400,), latent_dim=20)
            rows.append({"case": title, "device": device, "epochs": epochs,
                         "ours_images_per_second": round(ours["images_per_second"]),
                         "classic_images_per_second": round(classic["images_per_second"]),
                         "speedup": round(ours["images_per_second"] / classic["images_per_second"], 2),
                         "ours_test_loss": round(ours["test_loss"], 2),
                         "classic_test_loss": round(classic["test_loss"], 2)})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'case':34} {'ours img/s':>11} {'classic img/s':>14} {'speedup':>8} {'ours loss':>10} {'classic loss':>13}")
    for row in rows:
        print(f"{row['case']:34} {row['ours_images_per_second']:>11,} {row['classic_images_per_second']:>14,} "
              f"{row['speedup']:>7.2f}x {row['ours_test_loss']:>10.2f} {row['classic_test_loss']:>13.2f}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "peak_rss_mib": round(peak_mib), "threads": torch.get_num_threads()}))
    return 0
