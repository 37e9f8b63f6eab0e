"""The registry: family name -> everything the rest of genmodels needs to build and train it.

Sparse and denoising autoencoders are specs on the same ``Autoencoder`` class; they differ only in
their default config (a sigmoid code with a sparsity weight; a corruption with a noise level),
which the shared autoencoder step reads. That difference is the lesson.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from genmodels.configs import TrainConfig
from genmodels.data import Dataset
from genmodels.errors import ConfigError
from genmodels.i18n import L_
from genmodels.models.autoencoder import Autoencoder, AutoencoderConfig
from genmodels.models.classifier import ClassifierConfig, FeatureClassifier
from genmodels.models.diffusion import DiffusionConfig, DiffusionModel
from genmodels.models.gan import GAN, GANConfig
from genmodels.models.vae import VAE, VAEConfig
from genmodels.training.optim import adam
from genmodels.training.steps import (
    autoencoder_evaluate,
    autoencoder_snapshot,
    autoencoder_snapshot_inputs,
    autoencoder_step,
    classifier_evaluate,
    classifier_snapshot,
    classifier_snapshot_inputs,
    classifier_step,
    diffusion_evaluate,
    diffusion_snapshot,
    diffusion_snapshot_inputs,
    diffusion_step,
    gan_evaluate,
    gan_snapshot,
    gan_snapshot_inputs,
    gan_step,
    vae_evaluate,
    vae_snapshot,
    vae_snapshot_inputs,
    vae_step,
)


def single_adam(model, config: TrainConfig, device) -> dict:
    return {"model": adam(model.parameters(), config.lr, device)}


def gan_adams(model, config: TrainConfig, device) -> dict:
    """Adam with beta1 = 0.5 for both players, as in the DCGAN paper (momentum 0.9 made training
    oscillate); the discriminator may get its own learning rate."""
    lr_d = config.lr_discriminator or config.lr
    return {
        "discriminator": adam(model.discriminator.parameters(), lr_d, device, betas=(0.5, 0.999)),
        "generator": adam(model.generator.parameters(), config.lr, device, betas=(0.5, 0.999)),
    }


@dataclass(frozen=True)
class FamilySpec:
    name: str
    title: str  # for people: "Variational autoencoder" (a lazy text, shown in the reader's language)
    description: str
    model_class: type[torch.nn.Module]
    config_class: type
    default_config: Callable[[Dataset], Any]  # a config fitted to the dataset's shape
    data_kinds: tuple[str, ...]  # "image", "points"
    optimizers: Callable
    step: Callable
    evaluate: Callable
    snapshot_inputs: Callable
    snapshot: Callable
    verbs: tuple[str, ...]  # which of encode / decode / reconstruct / sample the model offers
    listed: bool = True  # offered on the pages (the Frechet feature classifier is not)

    @property
    def default_train(self) -> TrainConfig:
        """The training settings of the family's Train-page preset (one default for the CLI too)."""
        return presets_for("train")[self.name].train


def image_shape(dataset: Dataset) -> dict:
    return {"channels": dataset.channels, "image_size": dataset.image_size}


AUTOENCODER_FUNCTIONS = dict(
    model_class=Autoencoder, config_class=AutoencoderConfig, data_kinds=("image",), optimizers=single_adam,
    step=autoencoder_step, evaluate=autoencoder_evaluate,
    snapshot_inputs=autoencoder_snapshot_inputs, snapshot=autoencoder_snapshot,
    verbs=("encode", "decode", "reconstruct"),
)
GAN_FUNCTIONS = dict(
    model_class=GAN, config_class=GANConfig, optimizers=gan_adams, step=gan_step,
    evaluate=gan_evaluate, snapshot_inputs=gan_snapshot_inputs, snapshot=gan_snapshot,
    verbs=("decode", "sample"),
)


DIFFUSION_FUNCTIONS = dict(
    model_class=DiffusionModel, config_class=DiffusionConfig, data_kinds=("image", "points"), optimizers=single_adam,
    step=diffusion_step, evaluate=diffusion_evaluate, snapshot_inputs=diffusion_snapshot_inputs,
    snapshot=diffusion_snapshot, verbs=("sample",),
)


def diffusion_default(process: str) -> Callable[[Dataset], DiffusionConfig]:
    """ddpm and flow share the networks: an MLP for points, a small U-Net for images."""
    sampler = "ddim" if process == "ddpm" else "euler"

    def default(dataset: Dataset) -> DiffusionConfig:
        if dataset.kind == "points":
            return DiffusionConfig(process=process, data="points", hidden=(128, 128, 128), schedule="linear",
                                   sampler=sampler)
        return DiffusionConfig(process=process, data="image", hidden=(16, 32), sampler=sampler, **image_shape(dataset))
    return default


def gan_default(dataset: Dataset) -> GANConfig:
    if dataset.kind == "points":
        # Small networks, as in GAN Lab: 2-D data needs little capacity and trains in seconds.
        return GANConfig(arch="mlp", data="points", latent_dim=8, g_hidden=128, d_hidden=128)
    return GANConfig(arch="mlp", data="image", latent_dim=64, g_hidden=256, d_hidden=256, **image_shape(dataset))


FAMILIES: dict[str, FamilySpec] = {
    "ae": FamilySpec(
        name="ae", title=L_("Autoencoder"),
        description=L_("compresses an image to a small code and reconstructs it"),
        default_config=lambda d: AutoencoderConfig(arch="mlp", hidden=(256, 128), latent_dim=32, **image_shape(d)),
        **AUTOENCODER_FUNCTIONS,
    ),
    "sparse_ae": FamilySpec(
        name="sparse_ae", title=L_("Sparse autoencoder"),
        description=L_("an autoencoder whose sigmoid code units are pushed to be rarely active (KL penalty)"),
        default_config=lambda d: AutoencoderConfig(
            arch="mlp", hidden=(), latent_dim=100, code_activation="sigmoid",
            sparsity_target=0.05, sparsity_weight=1.0, **image_shape(d)),
        **AUTOENCODER_FUNCTIONS,
    ),
    "dae": FamilySpec(
        name="dae", title=L_("Denoising autoencoder"),
        description=L_("an autoencoder that sees corrupted images and learns to restore the clean ones"),
        default_config=lambda d: AutoencoderConfig(
            arch="conv", hidden=(32, 64), latent_dim=64, corruption="gaussian", noise_level=0.5, **image_shape(d)),
        **AUTOENCODER_FUNCTIONS,
    ),
    "vae": FamilySpec(
        name="vae", title=L_("Variational autoencoder"),
        description=L_("a probabilistic autoencoder whose latent space can be sampled"),
        model_class=VAE, config_class=VAEConfig, data_kinds=("image",), optimizers=single_adam,
        default_config=lambda d: VAEConfig(arch="mlp", hidden=(400,), latent_dim=20, **image_shape(d)),
        step=vae_step, evaluate=vae_evaluate,
        snapshot_inputs=vae_snapshot_inputs, snapshot=vae_snapshot,
        verbs=("encode", "decode", "reconstruct", "sample"),
    ),
    "gan": FamilySpec(
        name="gan", title=L_("GAN (MLP)"),
        description=L_("a generator and a discriminator, both MLPs, in an adversarial game; images or 2-D points"),
        data_kinds=("image", "points"), default_config=gan_default,
        **GAN_FUNCTIONS,
    ),
    "dcgan": FamilySpec(
        name="dcgan", title=L_("DCGAN"),
        description=L_("a convolutional GAN (Radford et al. 2015) for 28x28 and 32x32 images"),
        data_kinds=("image",),
        default_config=lambda d: GANConfig(arch="conv", latent_dim=64, g_hidden=64, d_hidden=64, **image_shape(d)),
        **GAN_FUNCTIONS,
    ),
    "ddpm": FamilySpec(
        name="ddpm", title=L_("Diffusion (DDPM)"),
        description=L_("learns to remove noise step by step (Ho et al. 2020); samples by walking from pure noise "
                       "back to data"),
        default_config=diffusion_default("ddpm"), **DIFFUSION_FUNCTIONS,
    ),
    "flow": FamilySpec(
        name="flow", title=L_("Flow matching"),
        description=L_("learns the velocity along straight paths from data to noise (Lipman et al. 2023); samples "
                       "by following it back"),
        default_config=diffusion_default("flow"), **DIFFUSION_FUNCTIONS,
    ),
    "classifier": FamilySpec(
        name="classifier", title=L_("Feature classifier"),
        description=L_("the small CNN whose features the Frechet distance compares (not a generator)"),
        model_class=FeatureClassifier, config_class=ClassifierConfig, data_kinds=("image",), optimizers=single_adam,
        default_config=lambda d: ClassifierConfig(classes=len(d.class_names), **image_shape(d)),
        step=classifier_step, evaluate=classifier_evaluate,
        snapshot_inputs=classifier_snapshot_inputs, snapshot=classifier_snapshot,
        verbs=(), listed=False,
    ),
}


def listed_families() -> dict[str, FamilySpec]:
    """The families the pages offer (every one but the Frechet feature classifier)."""
    return {name: spec for name, spec in FAMILIES.items() if spec.listed}


def family(name: str) -> FamilySpec:
    if name not in FAMILIES:
        raise ConfigError(L_("unknown model family {name}; valid: {valid}", name=repr(name), valid=", ".join(FAMILIES)))
    return FAMILIES[name]


def check_dataset(spec: FamilySpec, dataset: Dataset) -> None:
    if dataset.kind not in spec.data_kinds:
        kinds = "/".join(spec.data_kinds)
        raise ConfigError(L_("{family} trains on {kinds} data, but {dataset} holds {kind}", family=spec.name,
                             kinds=kinds, dataset=dataset.name, kind=dataset.kind))


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
        raise ConfigError(L_("{family} has no setting {unknown}; its settings: {valid}", family=spec.name,
                             unknown=", ".join(unknown), valid=", ".join(sorted(fields))))
    return dataclasses.replace(config, **changes)


def empty_model(spec: FamilySpec, config, device="cpu") -> torch.nn.Module:
    """The model's modules with uninitialised memory (to be filled by a state dict or an init).

    Built on the meta device first, so that constructing torch layers (whose constructors draw
    their default initialisation from the *global* random generator) neither touches global
    random state nor spends time on weights that are overwritten anyway."""
    if not isinstance(config, spec.config_class):
        raise ConfigError(L_("{family} needs a {config}, got {given}", family=spec.name,
                             config=spec.config_class.__name__, given=type(config).__name__))
    with torch.device("meta"):
        model = spec.model_class(config)
    return model.to_empty(device=device)


def build_model(spec: FamilySpec, config, seed: int = 0) -> torch.nn.Module:
    """A freshly initialised model, its weights drawn from a generator seeded with ``seed``."""
    model = empty_model(spec, config)
    model.reset_parameters(torch.Generator().manual_seed(seed))
    return model


# --------------------------------------------------------------------------------------------
# Presets: the one table of settings that train to a recognisable result in about a minute on a
# 2-core CPU (seconds on a GPU). Each lesson lists its own: the Train page one per family, the GAN
# studio healthy and failing runs, the 2-D GAN lab its toy experiments.
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preset:
    family: str
    dataset: str
    model: dict = field(default_factory=dict)  # overrides of the family's default config
    train: TrainConfig = TrainConfig()
    note: str = ""  # what a run shows, in a line or two
    title: str = ""  # for people; the key names it when empty


TRAIN_PRESETS = {
    "ae": Preset("ae", "fashion-mnist", {"arch": "mlp", "hidden": (256, 128), "latent_dim": 32},
                 TrainConfig(epochs=5, batch_size=128, lr=1e-3)),
    "sparse_ae": Preset("sparse_ae", "fashion-mnist", {"latent_dim": 100, "sparsity_target": 0.05,
                                                        "sparsity_weight": 1.0},
                        TrainConfig(epochs=5, batch_size=128, lr=1e-3)),
    "dae": Preset("dae", "fashion-mnist", {"arch": "conv", "hidden": (32, 64), "latent_dim": 64,
                                            "corruption": "gaussian", "noise_level": 0.5},
                  TrainConfig(epochs=2, batch_size=128, lr=1e-3)),
    "vae": Preset("vae", "fashion-mnist", {"arch": "mlp", "hidden": (400,), "latent_dim": 20},
                  TrainConfig(epochs=10, batch_size=128, lr=1e-3)),
    "gan": Preset("gan", "toy-ring", {}, TrainConfig(epochs=40, batch_size=256, lr=1e-3, log_every=10,
                                                      snapshot_every=50)),
    "dcgan": Preset("dcgan", "fashion-mnist", {"latent_dim": 64, "hidden": 32},
                    TrainConfig(epochs=1, batch_size=128, lr=2e-4, snapshot_every=50)),
    # One epoch of the small U-Net (about 4 minutes on the 2-core CPU): rough garments. The shipped
    # ddpm-fashion and flow-fashion trained longer (checkpoints/README.md). Both sample with the
    # weights' moving average (training/averaging.py).
    "ddpm": Preset("ddpm", "fashion-mnist", {}, TrainConfig(epochs=1, batch_size=128, lr=1e-3, snapshot_every=100,
                                                            ema=0.999)),
    "flow": Preset("flow", "fashion-mnist", {}, TrainConfig(epochs=1, batch_size=128, lr=1e-3, snapshot_every=100,
                                                            ema=0.999)),
    "classifier": Preset("classifier", "fashion-mnist", {}, TrainConfig(epochs=5, batch_size=128, lr=1e-3)),
}


# GAN studio: a healthy DCGAN, an MLP GAN that struggles, and runs that fail on purpose, each with the
# symptom the page's diagnostics should name. All train on Fashion-MNIST and show samples within a minute.
GAN_STUDIO_PRESETS = {
    "balanced_dcgan": Preset(
        "dcgan", "fashion-mnist", {"latent_dim": 64, "hidden": 32},
        TrainConfig(epochs=1, batch_size=128, lr=2e-4, snapshot_every=25, snapshot_count=32),
        title=L_("Balanced DCGAN"),
        note=L_("The DCGAN paper's recipe (Adam 2e-4, beta1 0.5, one D step per G step), narrower: garments appear "
                "within a few hundred steps.")),
    "mlp_gan": Preset(
        "gan", "fashion-mnist", {"latent_dim": 64, "hidden": 256},
        TrainConfig(epochs=2, batch_size=128, lr=2e-4, snapshot_every=25, snapshot_count=32),
        title=L_("MLP GAN"),
        note=L_("Fully connected players, as in the original GAN paper, with the DCGAN's optimiser settings. They "
                "struggle on garments: within a few hundred steps D pulls ahead and wins, and the samples stay blurry "
                "(alike at first, then a little more varied). Compare "
                "with the DCGAN, whose convolutions suit images.")),
    "unbalanced_rates": Preset(
        "dcgan", "fashion-mnist", {"latent_dim": 64, "hidden": 32},
        TrainConfig(epochs=1, batch_size=128, lr=2e-5, lr_discriminator=2e-3, snapshot_every=25, snapshot_count=32),
        title=L_("Failure: unbalanced learning rates"),
        note=L_("D learns 100x faster than G: it soon tells real from fake perfectly (D(x) -> 1, D(G(z)) -> 0) and "
                "G is left with no useful signal.")),
    "too_many_d_steps": Preset(
        "gan", "fashion-mnist", {"latent_dim": 64, "hidden": 256, "d_steps": 5},
        TrainConfig(epochs=1, batch_size=128, lr=2e-4, lr_discriminator=1e-3, snapshot_every=25,
                    snapshot_count=32),
        title=L_("Failure: too many D steps"),
        note=L_("Five discriminator updates before each generator update: D stays ahead and wins.")),
    "tiny_generator": Preset(
        "gan", "fashion-mnist", {"latent_dim": 64, "g_hidden": 8, "g_depth": 1, "d_hidden": 256},
        TrainConfig(epochs=2, batch_size=128, lr=1e-3, snapshot_every=25, snapshot_count=32),
        title=L_("Failure: tiny generator"),
        note=L_("A generator with 8 hidden units cannot draw the variety of garments, so it settles on a few blurry "
                "outputs whatever the noise (mode collapse).")),
}


# The 2-D GAN lab: the ``gan`` family on points with the lab's players (lessons/gan_lab.LabConfig
# reads these: G's rate is ``lr``, D's ``lr_discriminator``).
def _lab(title: str, note: str, lr_g: float = 5e-3, lr_d: float = 5e-3, **model) -> Preset:
    players = {"latent_dim": 8, "g_hidden": 64, "g_depth": 2, "d_hidden": 64, "d_depth": 2, "d_steps": 1,
               "loss": "non_saturating", **model}
    return Preset("gan", "toy-ring", players, TrainConfig(lr=lr_g, lr_discriminator=lr_d, batch_size=256, seed=0,
                                                          device="cpu"), note=note, title=title)


GAN_LAB_PRESETS = {
    "balanced": _lab(
        L_("Balanced (the default)"),
        L_("Two small networks learning at the same rate: the purple points spread out along the noise grid and "
           "cover all 8 modes of the ring, usually within 1,000 to 2,000 steps. Now and then a mode is lost for a "
           "moment and won back: the game never quite stands still.")),
    "collapse": _lab(
        L_("Mode collapse: G learns 10x faster than D"),
        L_("D learns so slowly that its verdict stays almost flat. G gathers all its points into one clump and "
           "drags it towards whatever D likes best at the moment: the clump wanders from mode to mode and never "
           "spreads out."), lr_g=1e-3, lr_d=1e-4),
    "strong_d": _lab(
        L_("D too strong: 5 D steps per G step, 50x the rate"),
        L_("D paints purple exactly where G's points are and green everywhere else: D(x) goes to about 0.9 and "
           "D(G(z)) to about 0.1. G, crawling at its small rate, nudges its clump and D repaints around it at once."),
        lr_g=1e-4, lr_d=5e-3, d_steps=5),
    "tiny_g": _lab(
        L_("Tiny generator: 4 hidden units"),
        L_("With 4 ReLU units G's output is made of a few flat pieces. For the first few hundred steps it lays its "
           "points along a bent line through one or two modes, most of them in the gaps (off-mode points), and it "
           "never holds more than three of the 8 modes. D stays ahead, near D(x) = 0.8 and D(G(z)) = 0.2. Later, "
           "depending on the seed, the line stays stretched or folds into a clump on one or two modes (seed 0: "
           "one clump on one mode after about 2,500 steps). Either way G cannot draw the whole ring."),
        g_hidden=4, g_depth=1),
}

# The Diffusion lab's image runs: the page picks the family (ddpm or flow) and trains one of these.
DIFFUSION_PRESETS = {
    "small_cpu": Preset(
        "ddpm", "fashion-mnist", {"hidden": (16, 32)},
        TrainConfig(epochs=1, max_steps=150, batch_size=64, lr=2e-3, log_every=5, snapshot_every=25, ema=0.999),
        title=L_("Small, for this CPU (150 steps)"),
        note=L_("The small U-Net (123,000 weights) for 150 steps of 64 images: rough, blurry garment shapes after "
                "about two minutes of training on a shared 2-core CPU.")),
    "full_gpu": Preset(
        "ddpm", "fashion-mnist", {"hidden": (64, 128)},
        TrainConfig(epochs=20, batch_size=256, lr=1e-3, snapshot_every=200, ema=0.999),
        title=L_("Full, for a GPU (20 epochs)"),
        note=L_("A U-Net four times as wide for 20 epochs: hours on a CPU, minutes on a GPU.")),
}

PRESETS = {"train": TRAIN_PRESETS, "gan_studio": GAN_STUDIO_PRESETS, "gan_lab": GAN_LAB_PRESETS,
           "diffusion": DIFFUSION_PRESETS}


def presets_for(lesson: str) -> dict[str, Preset]:
    """The presets a lesson lists, by key, in the order it shows them."""
    if lesson not in PRESETS:
        raise ConfigError(L_("no presets for {lesson}; valid: {valid}", lesson=repr(lesson), valid=", ".join(PRESETS)))
    return PRESETS[lesson]
