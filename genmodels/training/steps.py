"""What differs between families in training: for each, a step (one optimizer update on one
batch, returning its loss terms), an evaluation on the test split, and a snapshot (the image or
point grid shown while training). registry.py binds them to the families; loop.py calls them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genmodels import diffusion, losses
from genmodels.corruption import corrupt
from genmodels.data import Dataset
from genmodels.i18n import N_
from genmodels.training.accel import autocast


@dataclass
class StepContext:
    """What a family's step function needs besides the model and the batch."""

    device: torch.device
    generator: torch.Generator  # noise for corruption, reparameterisation, GAN latents
    optimizers: dict[str, torch.optim.Optimizer]

    def autocast(self):
        """Wrap forward passes and losses (not backward or optimizer steps, as PyTorch advises)."""
        return autocast(self.device)

    def descend(self, loss: torch.Tensor, optimizer: str = "model") -> None:
        """One gradient step on ``loss`` with the named optimizer (its gradients cleared first)."""
        step = self.optimizers[optimizer]
        step.zero_grad(set_to_none=True)
        loss.backward()
        step.step()


# --------------------------------------------------------------------------------------------
# Autoencoders (ae, sparse_ae, dae): one step, the config says which loss terms apply.
# --------------------------------------------------------------------------------------------

def autoencoder_step(model, x, y, ctx: StepContext) -> dict[str, torch.Tensor]:
    cfg = model.config
    # dae: the encoder sees a corrupted copy; the target stays the clean x.
    x_in = corrupt(x, cfg.corruption, cfg.noise_level, ctx.generator)
    with ctx.autocast():
        out = model(x_in)
        bce = losses.bce_per_image(out.logits.float(), x)
        loss = bce
        terms = {"loss": loss, "bce": bce}
        if cfg.sparsity_weight > 0:
            sparsity = losses.sparsity_kl(out.code.float(), cfg.sparsity_target)
            loss = bce + cfg.sparsity_weight * sparsity
            terms = {"loss": loss, "bce": bce, "sparsity": sparsity}
    ctx.descend(loss)
    return {k: v.detach() for k, v in terms.items()}


@torch.no_grad()
def autoencoder_evaluate(model, data: Dataset, seed: int, batch_size: int = 1000) -> dict[str, float]:
    """Test-split BCE and MSE per image, mean per-image PSNR (dB) and SSIM. For a dae, the inputs are
    corrupted as in training (with a fixed seed, so the number is comparable across epochs)."""
    from genmodels.metrics.image_quality import psnr, ssim

    cfg = model.config
    generator = torch.Generator(device=data.device).manual_seed(seed + 7)
    sums = {"test_bce": 0.0, "test_mse": 0.0, "test_psnr": 0.0, "test_ssim": 0.0}
    for x in data.test_x.split(batch_size):
        x_in = corrupt(x, cfg.corruption, cfg.noise_level, generator)
        logits = model(x_in).logits.float()
        recon = torch.sigmoid(logits)
        sums["test_bce"] += losses.bce_per_image(logits, x).item() * len(x)
        sums["test_mse"] += losses.mse_per_image(recon, x).item() * len(x)
        sums["test_psnr"] += psnr(recon, x).sum().item()
        sums["test_ssim"] += ssim(recon, x).sum().item()
    n = len(data.test_x)
    metrics = {k: v / n for k, v in sums.items()}
    metrics["test_loss"] = metrics["test_bce"]
    return metrics


def autoencoder_snapshot_inputs(model, data: Dataset, count: int, seed: int):
    return data.test_x[:count]


def autoencoder_snapshot(model, inputs, ctx: StepContext) -> dict:
    cfg = model.config
    if cfg.corruption != "none" and cfg.noise_level > 0:
        generator = torch.Generator(device=inputs.device).manual_seed(0)
        noisy = corrupt(inputs, cfg.corruption, cfg.noise_level, generator)
        rows, images = (N_("clean"), N_("noisy input"), N_("reconstruction")), [inputs, noisy, model.reconstruct(noisy)]
    else:
        rows, images = (N_("input"), N_("reconstruction")), [inputs, model.reconstruct(inputs)]
    return {"rows": rows, "images": torch.stack(images).float().cpu()}


# --------------------------------------------------------------------------------------------
# VAE
# --------------------------------------------------------------------------------------------

def vae_step(model, x, y, ctx: StepContext) -> dict[str, torch.Tensor]:
    with ctx.autocast():
        out = model(x, generator=ctx.generator)
        loss, bce, kl = losses.negative_elbo(out.logits.float(), x, out.mu.float(), out.logvar.float(),
                                             model.config.beta)
    ctx.descend(loss)
    return {"loss": loss.detach(), "bce": bce.detach(), "kl": kl.detach()}


@torch.no_grad()
def vae_evaluate(model, data: Dataset, seed: int, batch_size: int = 1000) -> dict[str, float]:
    """Test-split negative ELBO (nats per image) with one reparameterised sample per image, as
    pytorch/examples vae's test loss, plus its two terms and the deterministic reconstruction BCE."""
    generator = torch.Generator(device=data.device).manual_seed(seed + 7)
    sums = {"test_loss": 0.0, "test_bce": 0.0, "test_kl": 0.0}
    for x in data.test_x.split(batch_size):
        out = model(x, generator=generator)
        loss, bce, kl = losses.negative_elbo(out.logits.float(), x, out.mu.float(), out.logvar.float(), 1.0)
        for key, value in (("test_loss", loss), ("test_bce", bce), ("test_kl", kl)):
            sums[key] += value.item() * len(x)
    return {k: v / len(data.test_x) for k, v in sums.items()}


def vae_snapshot_inputs(model, data: Dataset, count: int, seed: int):
    generator = torch.Generator(device=data.device).manual_seed(seed + 11)
    z = torch.randn((count, model.config.latent_dim), generator=generator, device=data.device)
    return {"images": data.test_x[:count], "z": z}


def vae_snapshot(model, inputs, ctx: StepContext) -> dict:
    images = [inputs["images"], model.reconstruct(inputs["images"]), model.decode(inputs["z"])]
    return {"rows": (N_("input"), N_("reconstruction"), N_("sample from the prior")),
            "images": torch.stack(images).float().cpu()}


# --------------------------------------------------------------------------------------------
# GANs (gan, dcgan): the two-phase update, written out.
# --------------------------------------------------------------------------------------------

def gan_loss_functions(model):
    if model.config.loss == "least_squares":
        return losses.discriminator_loss_least_squares, losses.generator_loss_least_squares
    return losses.discriminator_loss, losses.generator_loss_nonsaturating


def discriminator_step(model, real: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
    """One update of D: push D(real) up and D(G(z)) down. ``real`` is in model space."""
    d_loss_fn, _ = gan_loss_functions(model)
    z = model.latent(len(real), ctx.generator)
    with ctx.autocast():
        fake = model.generate(z).detach()  # detach: this phase must not update (or even reach) G
        real_logits = model.discriminate(real)
        fake_logits = model.discriminate(fake)
        d_loss = d_loss_fn(real_logits.float(), fake_logits.float())
    optimizer = ctx.optimizers["discriminator"]
    optimizer.zero_grad(set_to_none=True)
    d_loss.backward()
    optimizer.step()
    return {
        "d_loss": d_loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach().float()).mean(),  # D(x): 1 = "surely real"
        "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(),  # D(G(z)) before G's update
    }


def generator_step(model, batch_size: int, ctx: StepContext) -> dict[str, torch.Tensor]:
    """One update of G through a frozen D: make D(G(z)) look real."""
    _, g_loss_fn = gan_loss_functions(model)
    model.discriminator.requires_grad_(False)  # gradients flow through D to G, but D's own are not needed
    z = model.latent(batch_size, ctx.generator)
    with ctx.autocast():
        fake_logits = model.discriminate(model.generate(z))
        g_loss = g_loss_fn(fake_logits.float())
    optimizer = ctx.optimizers["generator"]
    optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    optimizer.step()
    model.discriminator.requires_grad_(True)
    return {"g_loss": g_loss.detach()}


def gan_step(model, x, y, ctx: StepContext) -> dict[str, torch.Tensor]:
    """d_steps updates of D (fresh noise each, same real batch), then one update of G."""
    real = model.to_model_space(x)
    for _ in range(model.config.d_steps):
        d_terms = discriminator_step(model, real, ctx)
    return {**d_terms, **generator_step(model, len(x), ctx)}


@torch.no_grad()
def gan_evaluate(model, data: Dataset, seed: int, batch_size: int = 1000) -> dict[str, float]:
    """D's loss and mean outputs on the test split against as many fresh fakes."""
    d_loss_fn, _ = gan_loss_functions(model)
    generator = torch.Generator(device=data.device).manual_seed(seed + 7)
    sums = {"test_d_loss": 0.0, "test_d_real": 0.0, "test_d_fake": 0.0}
    for x in data.test_x.split(batch_size):
        real_logits = model.discriminate(model.to_model_space(x)).float()
        fake_logits = model.discriminate(model.generate(model.latent(len(x), generator))).float()
        sums["test_d_loss"] += d_loss_fn(real_logits, fake_logits).item() * len(x)
        sums["test_d_real"] += torch.sigmoid(real_logits).sum().item()
        sums["test_d_fake"] += torch.sigmoid(fake_logits).sum().item()
    metrics = {k: v / len(data.test_x) for k, v in sums.items()}
    metrics["test_loss"] = metrics["test_d_loss"]
    return metrics


def gan_snapshot_inputs(model, data: Dataset, count: int, seed: int):
    generator = torch.Generator(device=data.device).manual_seed(seed + 11)
    n = count * 32 if model.config.data == "points" else count  # a point cloud needs many points
    return torch.randn((n, model.config.latent_dim), generator=generator, device=data.device)


def gan_snapshot(model, z, ctx: StepContext) -> dict:
    samples = model.decode(z).float().cpu()
    if model.config.data == "points":
        return {"rows": (N_("generated"),), "points": samples}
    return {"rows": (N_("samples from fixed noise"),), "images": samples.unsqueeze(0)}


# --------------------------------------------------------------------------------------------
# The feature classifier (the Frechet distance's embedding): plain supervised training.
# --------------------------------------------------------------------------------------------

def classifier_step(model, x, y, ctx: StepContext) -> dict[str, torch.Tensor]:
    with ctx.autocast():
        loss = losses.classification_loss(model(x).float(), y)
    ctx.descend(loss)
    return {"loss": loss.detach()}


@torch.no_grad()
def classifier_evaluate(model, data: Dataset, seed: int, batch_size: int = 1000) -> dict[str, float]:
    """Test-split cross-entropy (nats per image) and accuracy (share of images classified right)."""
    loss, correct = 0.0, 0
    for x, y in zip(data.test_x.split(batch_size), data.test_y.split(batch_size)):
        logits = model(x).float()
        loss += losses.classification_loss(logits, y).item() * len(x)
        correct += (logits.argmax(1) == y).sum().item()
    return {"test_loss": loss / len(data.test_x), "test_accuracy": correct / len(data.test_x)}


def classifier_snapshot_inputs(model, data: Dataset, count: int, seed: int):
    return data.test_x[:count]


def classifier_snapshot(model, inputs, ctx: StepContext) -> dict:
    return {"rows": (N_("test images"),), "images": inputs.unsqueeze(0).float().cpu()}


# --------------------------------------------------------------------------------------------
# Diffusion and flow matching (ddpm, flow): one step, the process says which path and target.
# --------------------------------------------------------------------------------------------

def diffusion_loss(model, x0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The family's loss on clean data ``x0`` in model space: draw times and noise, predict, compare."""
    cfg = model.config
    pair = diffusion.training_pair(cfg.process, x0, cfg.schedule, generator)
    prediction = model(pair.x_t, pair.t).float()
    if cfg.process == "flow":
        return losses.flow_matching_loss(prediction, pair.target)
    return losses.noise_prediction_loss(prediction, pair.target)


def diffusion_step(model, x, y, ctx: StepContext) -> dict[str, torch.Tensor]:
    with ctx.autocast():
        loss = diffusion_loss(model, model.to_model_space(x), ctx.generator)
    ctx.descend(loss)
    return {"loss": loss.detach()}


@torch.no_grad()
def diffusion_evaluate(model, data: Dataset, seed: int, batch_size: int = 1000) -> dict[str, float]:
    """The training loss on the test split, with times and noise from a fixed seed (comparable
    across epochs): mean squared error of the predicted noise (ddpm) or velocity (flow) per value."""
    generator = torch.Generator(device=data.device).manual_seed(seed + 7)
    total = 0.0
    for x in data.test_x.split(batch_size):
        total += diffusion_loss(model, model.to_model_space(x), generator).item() * len(x)
    return {"test_loss": total / len(data.test_x)}


def diffusion_snapshot_inputs(model, data: Dataset, count: int, seed: int):
    generator = torch.Generator(device=data.device).manual_seed(seed + 11)
    n = count * 32 if model.config.data == "points" else count  # a point cloud needs many points
    return torch.randn((n, *model.data_shape), generator=generator, device=data.device)


def diffusion_snapshot(model, noise, ctx: StepContext) -> dict:
    """Samples from fixed starting noise with the deterministic sampler (DDIM or Euler), so that
    successive snapshots differ only by what the network learned."""
    deterministic = "ddim" if model.config.process == "ddpm" else "euler"
    samples = model.to_data_space(model.run_sampler(noise, sampler=deterministic).x).float().cpu()
    if model.config.data == "points":
        return {"rows": (N_("generated"),), "points": samples}
    return {"rows": (N_("samples from fixed noise"),), "images": samples.unsqueeze(0)}
