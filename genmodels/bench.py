"""``python -m genmodels bench``: our trainer against the classic recipe, side by side.

The classic recipes are re-implemented here faithfully after pytorch/examples:

- ``vae/main.py``: a torchvision dataset with ``ToTensor``, a shuffling ``DataLoader`` that builds
  each batch image by image, a sigmoid decoder with ``F.binary_cross_entropy``, and one
  ``loss.item()`` (a host sync) per step. The conv VAE case trains our conv VAE's architecture
  written the same way (pytorch/examples has no conv VAE).
- ``dcgan/main.py``: ``ToTensor`` + ``Normalize(0.5, 0.5)`` through a ``DataLoader`` with the
  example's two worker processes, a sigmoid discriminator with ``nn.BCELoss``, D updated on the
  real batch and on ``fake.detach()``, then G on the same fakes, and five ``.item()`` per step
  (errD, errG, D(x), D(G(z)) twice; the example prints them every step, here they are only read).
  The networks are our DCGAN's layers, so both sides train the same model.

Each side of each case runs in a fresh process (``python -m genmodels bench --worker JOB``), after
an untimed warm-up of a few steps of its own loop, so neither pays for one-off costs (the first
matmuls, oneDNN's kernel choice, allocator growth, creating the first fused Adam) and each reports
its own peak memory. Images/s counts training steps only; the test metric is computed on the whole
test split after the same number of epochs (or steps) on both sides. For the headline case (MLP VAE,
batch 128) the two sides take turns for a few rounds and each keeps its fastest (``Plan.rounds``).
The same worker measures the time from process start to the first optimizer step, and the thread
scaling.

This module may use a DataLoader: it is the thing being compared against.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genmodels.data import IDX_FILES, find_idx_dir, search_dirs
from genmodels.errors import ConfigError, DatasetUnavailable

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the folder holding genmodels/, for the workers


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One comparison: the same model, data, batch size, learning rate and length on both sides."""

    key: str
    title: str
    family: str  # "vae" or "dcgan"
    arch: str  # "mlp" or "conv"
    batch_size: int
    lr: float
    hidden: tuple[int, ...]  # MLP widths, conv VAE channels, or (DCGAN base width,)
    latent_dim: int
    workers: int = 0  # the classic DataLoader's worker processes on the CPU (as in the example)

    @property
    def metric(self) -> str:
        return "-ELBO nats/image" if self.family == "vae" else "D loss"


CASES = {
    case.key: case for case in (
        Case("mlp-vae-b128", "MLP VAE 784-400-20, batch 128", "vae", "mlp", 128, 1e-3, (400,), 20),
        Case("mlp-vae-b512", "MLP VAE 784-400-20, batch 512", "vae", "mlp", 512, 1e-3, (400,), 20),
        Case("conv-vae-b128", "conv VAE (32, 64)-20, batch 128", "vae", "conv", 128, 1e-3, (32, 64), 20),
        Case("dcgan-b128", "DCGAN 28x28 (width 64), batch 128", "dcgan", "conv", 128, 2e-4, (64,), 64, workers=2),
    )
}


@dataclass(frozen=True)
class Plan:
    """What one bench run measures. Per case: epochs, or a number of steps (speed only, when a
    full epoch would take too long on this device); None skips the case."""

    runs: dict[str, tuple[str, int]]  # case key -> ("epochs" | "steps", count)
    # case key -> rounds (default 1): fresh classic and ours processes in turn (classic first, then
    # ours first, ...), each side's fastest round kept. This machine's speed drifts by +-5% over
    # tens of seconds; taking turns lets both sides meet the same drift, so the ratio of a short
    # run moves less from one bench to the next.
    rounds: dict[str, int] = field(default_factory=dict)
    first_step: bool = False  # process start -> first optimizer step, cold and cached
    threads: tuple[int, ...] = ()  # thread counts to compare on mlp-vae-b128 (CPU)
    compile: bool = False  # also our trainer with torch.compile (compile time reported apart)


def plan_for(device: str, quick: bool, compile: bool = False) -> Plan:
    """--quick: the classic configuration for one epoch (the ratio and the loss check), the conv
    cases for a few steps; under a minute on 2 CPU cores. Full: everything, sized to the device."""
    if quick:
        runs = {"mlp-vae-b128": ("epochs", 1), "conv-vae-b128": ("steps", 40), "dcgan-b128": ("steps", 15)}
        return Plan(runs=runs, rounds={"mlp-vae-b128": 2}, compile=compile)
    if device == "cuda":  # the GPU targets: 10 MLP VAE epochs, DCGAN epochs
        runs = {"mlp-vae-b128": ("epochs", 10), "mlp-vae-b512": ("epochs", 10), "conv-vae-b128": ("epochs", 3),
                "dcgan-b128": ("epochs", 1)}
        return Plan(runs=runs, rounds={"mlp-vae-b128": 2}, first_step=True, compile=compile)
    runs = {"mlp-vae-b128": ("epochs", 3), "mlp-vae-b512": ("epochs", 3), "conv-vae-b128": ("epochs", 1),
            "dcgan-b128": ("steps", 100)}
    return Plan(runs=runs, rounds={"mlp-vae-b128": 3}, first_step=True, threads=(1, 2), compile=compile)


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
    if evaluate:  # the same test metric as ours (training.gan_evaluate): D's loss on test reals vs fresh fakes
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


# --------------------------------------------------------------------------------------------
# Our trainer
# --------------------------------------------------------------------------------------------

def run_ours(case: Case, device: str, epochs: int = 1, max_steps: int = 0, seed: int = 1, evaluate: bool = True,
             compile_mode: str = "none", on_first_step=None, dataset=None) -> dict:
    """Train with genmodels.training on the dataset as tensors on the device; same fields as
    ``run_classic`` plus compile_seconds (kept out of images/s)."""
    from genmodels import registry, training
    from genmodels.data import load_dataset

    spec = registry.family(case.family)
    dataset = dataset or load_dataset("fashion-mnist", training.resolve_device(device))
    model_config = registry.model_config(spec, dataset, arch=case.arch, hidden=case.hidden,
                                         latent_dim=case.latent_dim)
    config = training.TrainConfig(epochs=epochs, max_steps=max_steps, batch_size=case.batch_size, lr=case.lr,
                                  seed=seed, device=device, snapshot_every=0,
                                  log_every=1 if on_first_step else 100)
    if not evaluate:  # a speed-only run: no test pass at the end (nor at epoch ends)
        spec = dataclasses.replace(spec, evaluate=lambda model, data, seed: {})
    model = registry.build_model(spec, model_config, seed=seed)
    finished = None
    for event in training.train(spec, model, dataset, config, compile_mode=compile_mode):
        if on_first_step is not None and isinstance(event, training.Step):
            on_first_step()
            return {"steps": event.step}
        if isinstance(event, training.Finished):
            finished = event
    result = {"images_per_second": finished.images_per_second, "train_seconds": finished.train_seconds,
              "steps": finished.step, "compile_seconds": finished.compile_seconds}
    if finished.compile_error:
        result["compile_error"] = finished.compile_error
    if evaluate and finished.test:
        result.update({k: v for k, v in finished.test.items() if k in ("test_loss", "test_d_real", "test_d_fake")})
    return result


# --------------------------------------------------------------------------------------------
# One side of one case in a fresh process
# --------------------------------------------------------------------------------------------

WARM_UP_STEPS = {"vae": 30, "dcgan": 3}
CONTENDED_STEPS = 150  # a speed-only run: under contention a whole epoch can take minutes


def worker(job: dict) -> dict:
    """Run inside ``python -m genmodels bench --worker JOB``: one side of one case, after an untimed
    warm-up of the same loop. job: side ("ours" | "classic"), case, device, epochs, steps, root
    (the torchvision folder, classic only), workers (classic only), compile_mode, probe (only time
    the first step)."""
    case = CASES[job["case"]]
    if "workers" in job:  # the classic DataLoader's worker processes, other than the example's
        case = dataclasses.replace(case, workers=int(job["workers"]))
    device, side = job["device"], job["side"]
    if side not in ("ours", "classic"):
        raise ConfigError(f"side must be ours or classic; got {side!r}")
    root = Path(job.get("root", ""))
    if job.get("probe"):  # process start -> first optimizer step: no warm-up, nothing else
        stamp = {}

        def mark():
            synchronize(device)
            stamp["at"] = time.time()

        if side == "ours":
            run_ours(case, device, max_steps=1, evaluate=False, on_first_step=mark)
        else:
            run_classic(case, root, device, max_steps=1, evaluate=False, on_first_step=mark)
        return {"first_step_at": stamp["at"]}

    warm = WARM_UP_STEPS[case.family]
    if side == "ours":
        from genmodels.data import load_dataset
        from genmodels.training import resolve_device

        dataset = load_dataset("fashion-mnist", resolve_device(device))  # one copy for both runs
        run_ours(case, device, max_steps=warm, evaluate=False, dataset=dataset)
        result = run_ours(case, device, epochs=job.get("epochs", 1), max_steps=job.get("steps", 0),
                          evaluate=not job.get("steps"), compile_mode=job.get("compile_mode", "none"),
                          dataset=dataset)
    else:
        run_classic(case, root, device, max_steps=warm, evaluate=False)
        result = run_classic(case, root, device, epochs=job.get("epochs", 1), max_steps=job.get("steps", 0),
                             evaluate=not job.get("steps"))
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if device == "cuda":
        result["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
    result["threads"] = torch.get_num_threads()
    return result


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def spawn(job: dict, threads: int | None = None, cache: Path | None = None, timeout: float = 1800) -> dict:
    """Run ``worker(job)`` in a fresh ``python -m genmodels`` process; its JSON result, plus
    ``launched_at`` (the wall clock just before the process was started)."""
    env = {**os.environ, "GENLAB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    if threads:
        env["GENLAB_THREADS"] = str(threads)
    if cache is not None:
        env["GENLAB_CACHE"] = str(cache)
    launched_at = time.time()
    done = subprocess.run([sys.executable, "-m", "genmodels", "bench", "--worker", json.dumps(job)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench worker {job} failed (status {done.returncode}):\n{done.stderr[-2000:]}")
    return {**json.loads(lines[-1]), "launched_at": launched_at}


# --------------------------------------------------------------------------------------------
# The whole benchmark
# --------------------------------------------------------------------------------------------

@dataclass
class Row:
    """One line of a result table; ``kind`` says which: "case", "compiled", "first_step", "threads",
    "contended" (the thread rows again, with one core kept busy by another process)."""

    kind: str
    case: str
    device: str
    values: dict = field(default_factory=dict)


def run_bench(quick: bool = False, device: str = "cpu", compile: bool = False,
              cases: tuple[str, ...] | None = None, threads: int | None = None) -> Iterator[Row]:
    """Yield result rows as they are measured (the CLI prints them). ``cases`` limits the run."""
    from genmodels.training import resolve_device

    device = str(resolve_device(device))
    plan = plan_for(device, quick, compile)
    runs = {k: v for k, v in plan.runs.items() if cases is None or k in cases}
    unknown = sorted(set(cases or ()) - set(CASES))
    if unknown:
        raise ConfigError(f"unknown bench cases {', '.join(unknown)}; valid: {', '.join(CASES)}")
    root = torchvision_root()
    try:
        for key, (unit, count) in runs.items():
            length = {"epochs": count} if unit == "epochs" else {"steps": count}
            job = {"case": key, "device": device, "root": str(root), **length}
            classic_rounds, ours_rounds = [], []
            for turn in range(plan.rounds.get(key, 1)):
                sides = [("classic", classic_rounds), ("ours", ours_rounds)]
                for side, results in sides if turn % 2 == 0 else reversed(sides):  # ABBA: neither always first
                    results.append(spawn({**job, "side": side}, threads))
            classic, ours = fastest(classic_rounds), fastest(ours_rounds)
            row = compare(ours, classic, unit, count)
            if len(ours_rounds) > 1:
                row["round_speedups"] = [round(o["images_per_second"] / c["images_per_second"], 2)
                                         for o, c in zip(ours_rounds, classic_rounds)]
            yield Row("case", key, device, row)
            if plan.compile:
                compiled = spawn({**job, "side": "ours", "compile_mode": compile_mode_for(device)}, threads)
                yield Row("compiled", key, device, compare(compiled, classic, unit, count)
                          | {"compile_seconds": round(compiled.get("compile_seconds", 0.0), 1),
                             "compile_error": compiled.get("compile_error", ""),
                             "mode": compile_mode_for(device)})
        if plan.first_step and (cases is None or "mlp-vae-b128" in cases):
            yield Row("first_step", "mlp-vae-b128", device, first_step_times(root, device, threads))
        scaling = plan.threads if cases is None or "mlp-vae-b128" in cases else ()
        for count in scaling:
            job = {"case": "mlp-vae-b128", "device": device, "root": str(root), "epochs": 1}
            classic, ours = spawn({**job, "side": "classic"}, count), spawn({**job, "side": "ours"}, count)
            yield Row("threads", "mlp-vae-b128", device, {"threads": count} | compare(ours, classic, "epochs", 1))
        if scaling:  # the same with one core kept busy by another process, as on a shared machine
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                for count in scaling:
                    job = {"case": "mlp-vae-b128", "device": device, "root": str(root), "steps": CONTENDED_STEPS}
                    classic, ours = spawn({**job, "side": "classic"}, count), spawn({**job, "side": "ours"}, count)
                    yield Row("contended", "mlp-vae-b128", device,
                              {"threads": count} | compare(ours, classic, "steps", CONTENDED_STEPS))
            finally:
                busy.kill()
                busy.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fastest(rounds: list[dict]) -> dict:
    """The round with the most images/s (seeded, the rounds end at the same test metric)."""
    return max(rounds, key=lambda result: result["images_per_second"])


def compile_mode_for(device: str) -> str:
    """CUDA graphs pay for themselves where launches dominate (small models on a GPU)."""
    return "reduce-overhead" if device == "cuda" else "default"


def compare(ours: dict, classic: dict, unit: str, count: int) -> dict:
    row = {"length": f"{count} {unit if count != 1 else unit[:-1]}",
           "ours_images_per_second": round(ours["images_per_second"]),
           "classic_images_per_second": round(classic["images_per_second"]),
           "speedup": round(ours["images_per_second"] / classic["images_per_second"], 2),
           "ours_train_seconds": round(ours["train_seconds"], 2),
           "classic_train_seconds": round(classic["train_seconds"], 2),
           "ours_peak_rss_mib": ours.get("peak_rss_mib"), "classic_peak_rss_mib": classic.get("peak_rss_mib")}
    if "peak_gpu_mib" in ours:
        row.update(ours_peak_gpu_mib=ours["peak_gpu_mib"], classic_peak_gpu_mib=classic.get("peak_gpu_mib"))
    if "test_loss" in ours and "test_loss" in classic:
        row.update(ours_test_loss=round(ours["test_loss"], 3), classic_test_loss=round(classic["test_loss"], 3),
                   loss_difference=round(ours["test_loss"] / classic["test_loss"] - 1, 4))
    for name in ("test_d_real", "test_d_fake"):
        if name in ours:
            row.update({f"ours_{name}": round(ours[name], 3), f"classic_{name}": round(classic[name], 3)})
    return row


def first_step_times(root: Path, device: str, threads: int | None) -> dict:
    """Seconds from launching a process to its first optimizer step (MLP VAE, batch 128). Ours
    "cold" starts with an empty array cache (it decodes the gzipped IDX files and writes the
    cache); "cached" reads that cache. The classic recipe has no cache: torchvision parses the raw
    files on every start. Python's bytecode and the OS file cache are warm in all three."""
    job = {"case": "mlp-vae-b128", "device": device, "root": str(root), "probe": True}
    with tempfile.TemporaryDirectory(prefix="genlab-bench-cache-") as cache:
        cold = spawn({**job, "side": "ours"}, threads, Path(cache))
        cached = spawn({**job, "side": "ours"}, threads, Path(cache))
    classic = spawn({**job, "side": "classic"}, threads)
    return {name: round(r["first_step_at"] - r["launched_at"], 2)
            for name, r in (("ours_cold", cold), ("ours_cached", cached), ("classic", classic))}


def machine_info() -> dict:
    """What the figures were measured on: CPU model, usable cores, load, torch, GPU, date."""
    import platform
    from datetime import datetime

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {"cpu": cpu, "cores": cores, "torch": torch.__version__, "date": datetime.now().strftime("%Y-%m-%d %H:%M")}
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def format_row(row: Row) -> str:
    """One human-readable line per row (the CLI prints these, then everything as JSON)."""
    v, title = row.values, CASES[row.case].title
    if row.kind in ("case", "compiled"):
        label = f"{title}{' (compiled)' if row.kind == 'compiled' else ''}, {v['length']}"
        text = (f"{label:52} ours {v['ours_images_per_second']:>9,} img/s ({v['ours_train_seconds']:.2f} s)  "
                f"classic {v['classic_images_per_second']:>8,} img/s  {v['speedup']:>6.2f}x")
        if "ours_test_loss" in v:
            text += (f"  {CASES[row.case].metric}: ours {v['ours_test_loss']:.2f}, classic "
                     f"{v['classic_test_loss']:.2f} ({100 * v['loss_difference']:+.2f}%)")
        text += f"  peak RSS {v['ours_peak_rss_mib']} / {v['classic_peak_rss_mib']} MiB"
        if "round_speedups" in v:
            text += (f"  (fastest of {len(v['round_speedups'])} rounds; each round: "
                     + ", ".join(f"{r:.2f}x" for r in v["round_speedups"]) + ")")
        if row.kind == "compiled":
            text += f"  compile {v['compile_seconds']} s" + (f" FAILED: {v['compile_error']}"
                                                            if v["compile_error"] else "")
        return text
    if row.kind == "first_step":
        return (f"process start -> first optimizer step ({title}): ours {v['ours_cold']} s cold, "
                f"{v['ours_cached']} s cached; classic {v['classic']} s")
    if row.kind == "contended":
        title += ", one core busy with another process"
    return (f"{title}, {v['threads']} thread(s): ours {v['ours_images_per_second']:,} img/s, "
            f"classic {v['classic_images_per_second']:,} img/s ({v['speedup']:.2f}x)")
