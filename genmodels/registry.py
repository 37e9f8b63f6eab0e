"""The registry: family name -> everything the rest of genmodels needs to build and train it.

Sparse and denoising autoencoders are specs on the same ``Autoencoder`` class; they differ only in
their default config (a sigmoid code with a sparsity weight; a corruption with a noise level),
which the shared autoencoder step reads. That difference is the lesson.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from genmodels import training
from genmodels.data import Dataset
from genmodels.errors import ConfigError
from genmodels.models.autoencoder import Autoencoder, AutoencoderConfig
from genmodels.models.gan import GAN, GANConfig
from genmodels.models.vae import VAE, VAEConfig


def single_adam(model, config: training.TrainConfig, device) -> dict:
    return {"model": training.adam(model.parameters(), config.lr, device)}


def gan_adams(model, config: training.TrainConfig, device) -> dict:
    """Adam with beta1 = 0.5 for both players, as in the DCGAN paper (momentum 0.9 made training
    oscillate); the discriminator may get its own learning rate."""
    lr_d = config.lr_discriminator or config.lr
    return {
        "discriminator": training.adam(model.discriminator.parameters(), lr_d, device, betas=(0.5, 0.999)),
        "generator": training.adam(model.generator.parameters(), config.lr, device, betas=(0.5, 0.999)),
    }


@dataclass(frozen=True)
class FamilySpec:
    name: str
    title: str  # for people: "Variational autoencoder"
    description: str
    model_class: type[torch.nn.Module]
    config_class: type
    default_config: Callable[[Dataset], Any]  # a config fitted to the dataset's shape
    default_train: training.TrainConfig
    data_kinds: tuple[str, ...]  # "image", "points"
    optimizers: Callable
    step: Callable
    evaluate: Callable
    snapshot_inputs: Callable
    snapshot: Callable
    verbs: tuple[str, ...]  # which of encode / decode / reconstruct / sample the model offers


def image_shape(dataset: Dataset) -> dict:
    return {"channels": dataset.channels, "image_size": dataset.image_size}


AUTOENCODER_FUNCTIONS = dict(
    model_class=Autoencoder, config_class=AutoencoderConfig, data_kinds=("image",), optimizers=single_adam,
    step=training.autoencoder_step, evaluate=training.autoencoder_evaluate,
    snapshot_inputs=training.autoencoder_snapshot_inputs, snapshot=training.autoencoder_snapshot,
    verbs=("encode", "decode", "reconstruct"),
)
GAN_FUNCTIONS = dict(
    model_class=GAN, config_class=GANConfig, optimizers=gan_adams, step=training.gan_step,
    evaluate=training.gan_evaluate, snapshot_inputs=training.gan_snapshot_inputs, snapshot=training.gan_snapshot,
    verbs=("decode", "sample"),
)


def gan_default(dataset: Dataset) -> GANConfig:
    if dataset.kind == "points":
        # Small networks, as in GAN Lab: 2-D data needs little capacity and trains in seconds.
        return GANConfig(arch="mlp", data="points", latent_dim=8, g_hidden=128, d_hidden=128)
    return GANConfig(arch="mlp", data="image", latent_dim=64, g_hidden=256, d_hidden=256, **image_shape(dataset))


FAMILIES: dict[str, FamilySpec] = {
    "ae": FamilySpec(
        name="ae", title="Autoencoder",
        description="compresses an image to a small code and reconstructs it",
        default_config=lambda d: AutoencoderConfig(arch="mlp", hidden=(256, 128), latent_dim=32, **image_shape(d)),
        default_train=training.TrainConfig(epochs=5, batch_size=128, lr=1e-3),
        **AUTOENCODER_FUNCTIONS,
    ),
    "sparse_ae": FamilySpec(
        name="sparse_ae", title="Sparse autoencoder",
        description="an autoencoder whose sigmoid code units are pushed to be rarely active (KL penalty)",
        default_config=lambda d: AutoencoderConfig(
            arch="mlp", hidden=(), latent_dim=100, code_activation="sigmoid",
            sparsity_target=0.05, sparsity_weight=1.0, **image_shape(d)),
        default_train=training.TrainConfig(epochs=5, batch_size=128, lr=1e-3),
        **AUTOENCODER_FUNCTIONS,
    ),
    "dae": FamilySpec(
        name="dae", title="Denoising autoencoder",
        description="an autoencoder that sees corrupted images and learns to restore the clean ones",
        default_config=lambda d: AutoencoderConfig(
            arch="conv", hidden=(32, 64), latent_dim=64, corruption="gaussian", noise_level=0.5, **image_shape(d)),
        default_train=training.TrainConfig(epochs=5, batch_size=128, lr=1e-3),
        **AUTOENCODER_FUNCTIONS,
    ),
    "vae": FamilySpec(
        name="vae", title="Variational autoencoder",
        description="a probabilistic autoencoder whose latent space can be sampled",
        model_class=VAE, config_class=VAEConfig, data_kinds=("image",), optimizers=single_adam,
        default_config=lambda d: VAEConfig(arch="mlp", hidden=(400,), latent_dim=20, **image_shape(d)),
        default_train=training.TrainConfig(epochs=5, batch_size=128, lr=1e-3),
        step=training.vae_step, evaluate=training.vae_evaluate,
        snapshot_inputs=training.vae_snapshot_inputs, snapshot=training.vae_snapshot,
        verbs=("encode", "decode", "reconstruct", "sample"),
    ),
    "gan": FamilySpec(
        name="gan", title="GAN (MLP)",
        description="a generator and a discriminator, both MLPs, in an adversarial game; images or 2-D points",
        data_kinds=("image", "points"), default_config=gan_default,
        default_train=training.TrainConfig(epochs=5, batch_size=128, lr=2e-4),
        **GAN_FUNCTIONS,
    ),
    "dcgan": FamilySpec(
        name="dcgan", title="DCGAN",
        description="a convolutional GAN (Radford et al. 2015) for 28x28 and 32x32 images",
        data_kinds=("image",),
        default_config=lambda d: GANConfig(arch="conv", latent_dim=64, g_hidden=64, d_hidden=64, **image_shape(d)),
        default_train=training.TrainConfig(epochs=5, batch_size=128, lr=2e-4),
        **GAN_FUNCTIONS,
    ),
}


def family(name: str) -> FamilySpec:
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r}; valid: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def check_dataset(spec: FamilySpec, dataset: Dataset) -> None:
    if dataset.kind not in spec.data_kinds:
        kinds = " or ".join(spec.data_kinds)
        raise ConfigError(f"{spec.name} trains on {kinds} data, but {dataset.name} holds {dataset.kind}")


# Layer widths to use when the architecture is switched from the family's default and no widths are
# given: MLP widths and conv channel counts are different things.
DEFAULT_WIDTHS = {
    "ae": {"mlp": (256, 128), "conv": (32, 64)},
    "sparse_ae": {"mlp": (), "conv": (32, 64)},
    "dae": {"mlp": (256, 128), "conv": (32, 64)},
    "vae": {"mlp": (400,), "conv": (32, 64)},
}


def model_config(spec: FamilySpec, dataset: Dataset, **overrides) -> Any:
    """The family's default config for ``dataset`` with ``overrides`` applied (None = keep default).
    ``hidden`` for a GAN sets both players' widths."""
    check_dataset(spec, dataset)
    config = spec.default_config(dataset)
    changes = {k: v for k, v in overrides.items() if v is not None}
    arch = changes.get("arch", getattr(config, "arch", None))
    if spec.name in DEFAULT_WIDTHS and arch != config.arch and "hidden" not in changes:
        changes["hidden"] = DEFAULT_WIDTHS[spec.name][arch]
    if "hidden" in changes and spec.config_class is GANConfig:
        width = changes.pop("hidden")
        width = width[0] if isinstance(width, tuple) else width
        changes.update(g_hidden=width, d_hidden=width)
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(changes) - fields)
    if unknown:
        raise ConfigError(f"{spec.name} has no setting {', '.join(unknown)}; its settings: {', '.join(sorted(fields))}")
    return dataclasses.replace(config, **changes)


def empty_model(spec: FamilySpec, config, device="cpu") -> torch.nn.Module:
    """The model's modules with uninitialised memory (to be filled by a state dict or an init).

    Built on the meta device first, so that constructing torch layers (whose constructors draw
    their default initialisation from the *global* random generator) neither touches global
    random state nor spends time on weights that are overwritten anyway."""
    if not isinstance(config, spec.config_class):
        raise ConfigError(f"{spec.name} needs a {spec.config_class.__name__}, got {type(config).__name__}")
    with torch.device("meta"):
        model = spec.model_class(config)
    return model.to_empty(device=device)


def build_model(spec: FamilySpec, config, seed: int = 0) -> torch.nn.Module:
    """A freshly initialised model, its weights drawn from a generator seeded with ``seed``."""
    model = empty_model(spec, config)
    model.reset_parameters(torch.Generator().manual_seed(seed))
    return model
