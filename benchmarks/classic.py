"""The classic recipes the benchmark races, re-implemented faithfully after pytorch/examples
(``vae/main.py`` and ``dcgan/main.py``; see bench.py): torchvision datasets through a DataLoader,
sigmoid outputs with ``F.binary_cross_entropy`` / ``nn.BCELoss``, a host sync per step.

This module may use a DataLoader: it is the thing being compared against.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from genmodels.data import IDX_FILES, find_idx_dir, search_dirs
from genmodels.errors import DatasetUnavailable

if TYPE_CHECKING:
    from benchmarks.bench import Case

# --------------------------------------------------------------------------------------------
# The classic recipes
# --------------------------------------------------------------------------------------------

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


class ClassicConvVAE(nn.Module):
    """Our conv VAE's architecture (models/vae.py, arch="conv") written in the example's style."""

    def __init__(self, ch1: int = 32, ch2: int = 64, latent: int = 20):
        super().__init__()
        self.ch2 = ch2
        self.conv1 = nn.Conv2d(1, ch1, 4, stride=2, padding=1)  # 28 -> 14
        self.conv2 = nn.Conv2d(ch1, ch2, 4, stride=2, padding=1)  # 14 -> 7
        self.fc21 = nn.Linear(ch2 * 7 * 7, latent)
        self.fc22 = nn.Linear(ch2 * 7 * 7, latent)
        self.fc3 = nn.Linear(latent, ch2 * 7 * 7)
        self.deconv1 = nn.ConvTranspose2d(ch2, ch1, 4, stride=2, padding=1)  # 7 -> 14
        self.deconv2 = nn.ConvTranspose2d(ch1, 1, 4, stride=2, padding=1)  # 14 -> 28

    def encode(self, x):
        h = F.relu(self.conv2(F.relu(self.conv1(x))))
        h = h.view(-1, self.ch2 * 7 * 7)
        return self.fc21(h), self.fc22(h)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h = F.relu(self.fc3(z)).view(-1, self.ch2, 7, 7)
        return torch.sigmoid(self.deconv2(F.relu(self.deconv1(h))))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z).view(-1, 784), mu, logvar  # flat, as the example's decoder returns


def classic_loss(recon_x, x, mu, logvar):
    """The example's loss: BCE summed over pixels plus the closed-form KL, summed over the batch."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def classic_generator(nz: int, h: int) -> nn.Sequential:
    """Our DCGAN generator's layers (models/gan.py conv_generator) for 28x28 grey images."""
    return nn.Sequential(
        nn.Linear(nz, 2 * h * 7 * 7, bias=False), nn.Unflatten(1, (2 * h, 7, 7)), nn.BatchNorm2d(2 * h), nn.ReLU(True),
        nn.ConvTranspose2d(2 * h, h, 4, 2, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU(True),
        nn.ConvTranspose2d(h, 1, 4, 2, 1), nn.Tanh(),
    )


def classic_discriminator(h: int) -> nn.Sequential:
    """Our DCGAN discriminator's layers with the example's final Sigmoid (it trains with BCELoss)."""
    return nn.Sequential(
        nn.Conv2d(1, h, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(h, 2 * h, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * h), nn.LeakyReLU(0.2, inplace=True),
        nn.Flatten(), nn.Linear(2 * h * 7 * 7, 1), nn.Sigmoid(),
    )


def classic_weights_init(m):
    """The example's weights_init (plus Linear layers, which ours initialise the same way)."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1 or classname.find("Linear") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias.data)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


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


def run_classic(case: Case, root: Path, device: str, epochs: int = 1, max_steps: int = 0, seed: int = 1,
                evaluate: bool = True, on_first_step=None) -> dict:
    """Train the classic recipe for ``epochs`` (or ``max_steps`` steps); training images/s and the
    test metric. ``on_first_step()`` is called right after the first optimizer step."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    torch.manual_seed(seed)  # as the examples do (a benchmark process, not the app)
    dev = torch.device(device)
    if case.family == "vae":
        transform = transforms.ToTensor()
        kwargs = {"num_workers": 1, "pin_memory": True} if dev.type == "cuda" else {}
    else:
        transform = transforms.Compose([transforms.Resize(28), transforms.CenterCrop(28), transforms.ToTensor(),
                                        transforms.Normalize((0.5,), (0.5,))])
        kwargs = {"num_workers": case.workers} if dev.type == "cpu" else {"num_workers": 2, "pin_memory": True}
    train_set = datasets.FashionMNIST(str(root), train=True, download=False, transform=transform)
    test_set = datasets.FashionMNIST(str(root), train=False, transform=transform)
    train_loader = DataLoader(train_set, batch_size=case.batch_size, shuffle=True, **kwargs)
    test_loader = DataLoader(test_set, batch_size=1000, shuffle=False, **kwargs)
    loop = classic_vae_loop if case.family == "vae" else classic_dcgan_loop
    return loop(case, dev, train_loader, test_loader, epochs, max_steps, evaluate, on_first_step)


def classic_vae_loop(case, dev, train_loader, test_loader, epochs, max_steps, evaluate, on_first_step) -> dict:
    if case.arch == "mlp":
        model = ClassicVAE(case.hidden[0], case.latent_dim).to(dev)
    else:
        model = ClassicConvVAE(*case.hidden, case.latent_dim).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=case.lr)
    train_seconds, images, steps = 0.0, 0, 0
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
            steps += 1
            if steps == 1 and on_first_step is not None:
                on_first_step()
            if steps == max_steps:
                break
        train_seconds += time.perf_counter() - began
        if steps == max_steps:
            break
    result = {"images_per_second": images / train_seconds, "train_seconds": train_seconds, "steps": steps}
    if evaluate:
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data, _ in test_loader:
                data = data.to(dev)
                recon, mu, logvar = model(data)
                test_loss += classic_loss(recon, data, mu, logvar).item()
        result["test_loss"] = test_loss / len(test_loader.dataset)
    return result


def classic_dcgan_loop(case, dev, train_loader, test_loader, epochs, max_steps, evaluate, on_first_step) -> dict:
    nz, h = case.latent_dim, case.hidden[0]
    netG, netD = classic_generator(nz, h).to(dev), classic_discriminator(h).to(dev)
    netG.apply(classic_weights_init)
    netD.apply(classic_weights_init)
    criterion = nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=case.lr, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=case.lr, betas=(0.5, 0.999))
    train_seconds, images, steps = 0.0, 0, 0
    for _ in range(epochs):
        began = time.perf_counter()
        for data in train_loader:
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            real_cpu = data[0].to(dev)
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=dev)
            output = netD(real_cpu).view(-1)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()
            noise = torch.randn(batch_size, nz, device=dev)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach()).view(-1)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()
            # (2) Update G network: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = netD(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()
            # The example prints this line every step; here it is only formatted.
            log = (f"Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f} D(x): {D_x:.4f} "
                   f"D(G(z)): {D_G_z1:.4f} / {D_G_z2:.4f}")
            images += batch_size
            steps += 1
            if steps == 1 and on_first_step is not None:
                on_first_step()
            if steps == max_steps:
                break
        train_seconds += time.perf_counter() - began
        if steps == max_steps:
            break
    result = {"images_per_second": images / train_seconds, "train_seconds": train_seconds, "steps": steps,
              "last_log": log}
    if evaluate:  # the same test metric as ours (gan_evaluate): D's loss on test reals vs fresh fakes
        netG.eval()
        netD.eval()
        sums = [0.0, 0.0, 0.0]
        with torch.no_grad():
            for data, _ in test_loader:
                real = data.to(dev)
                d_real = netD(real).view(-1)
                d_fake = netD(netG(torch.randn(len(real), nz, device=dev))).view(-1)
                loss = criterion(d_real, torch.ones_like(d_real)) + criterion(d_fake, torch.zeros_like(d_fake))
                sums[0] += loss.item() * len(real)
                sums[1] += d_real.sum().item()
                sums[2] += d_fake.sum().item()
        n = len(test_loader.dataset)
        result.update(test_loss=sums[0] / n, test_d_real=sums[1] / n, test_d_fake=sums[2] / n)
    return result


