"""The 2-D GAN lab's settings: what defines one experiment (``LabConfig``), the valid values of
each setting as the page offers them, how an out-of-range value is settled with a message, and the
lab's presets (registry.presets_for("gan_lab"))."""

from __future__ import annotations

import math
from dataclasses import dataclass

from genmodels.configs import LEARNING_RATES, TrainConfig, check_choice, check_float, check_int
from genmodels.i18n import L_, N_
from genmodels.models.gan import GAN_LOSSES, GANConfig
from genmodels.registry import presets_for

TOY_DATASETS = ("toy-ring", "toy-grid", "toy-moons", "toy-spiral")
BATCH_SIZES = (32, 64, 128, 256, 512, 1024)
WIDTH_RANGE = (2, 512)  # hidden units per layer, both players
DEPTH_RANGE = (1, 4)  # hidden layers
LATENT_RANGE = (1, 16)
D_STEPS_RANGE = (1, 10)
SEED_RANGE = (0, 1_000_000)


@dataclass(frozen=True)
class LabConfig:
    """Everything that defines one experiment. Frozen and JSON-safe, validated on creation."""

    dataset: str = "toy-ring"
    latent_dim: int = 8
    g_hidden: int = 64
    g_depth: int = 2
    d_hidden: int = 64
    d_depth: int = 2
    lr_g: float = 5e-3  # 16 of 16 seeds covered the ring within 3,100 steps (2e-3: 13 of 16)
    lr_d: float = 5e-3
    d_steps: int = 1  # discriminator updates per generator update
    loss: str = "non_saturating"
    batch_size: int = 256
    seed: int = 0

    def __post_init__(self):
        check_choice("dataset", self.dataset, TOY_DATASETS)
        check_int("latent_dim", self.latent_dim, *LATENT_RANGE)
        check_int("g_hidden", self.g_hidden, *WIDTH_RANGE)
        check_int("d_hidden", self.d_hidden, *WIDTH_RANGE)
        check_int("g_depth", self.g_depth, *DEPTH_RANGE)
        check_int("d_depth", self.d_depth, *DEPTH_RANGE)
        check_float("lr_g", self.lr_g, LEARNING_RATES[0], LEARNING_RATES[-1])
        check_float("lr_d", self.lr_d, LEARNING_RATES[0], LEARNING_RATES[-1])
        check_int("d_steps", self.d_steps, *D_STEPS_RANGE)
        check_choice("loss", self.loss, GAN_LOSSES)
        check_choice("batch_size", self.batch_size, BATCH_SIZES)
        check_int("seed", self.seed, *SEED_RANGE)

    def model_config(self) -> GANConfig:
        """The ``gan`` family's config for 2-D points with this lab's players."""
        return GANConfig(arch="mlp", data="points", latent_dim=self.latent_dim, g_hidden=self.g_hidden,
                         g_depth=self.g_depth, d_hidden=self.d_hidden, d_depth=self.d_depth, loss=self.loss,
                         d_steps=self.d_steps)

    def train_config(self) -> TrainConfig:
        """What registry.gan_adams reads: G's rate as ``lr``, D's as ``lr_discriminator``."""
        return TrainConfig(lr=self.lr_g, lr_discriminator=self.lr_d, batch_size=self.batch_size,
                                    seed=self.seed, device="cpu")


# Each setting: its label on the page (translated where shown), and its valid values (a range of
# whole numbers or a tuple).
SETTINGS: dict[str, tuple[str, range | tuple]] = {
    "dataset": (N_("Dataset"), TOY_DATASETS),
    "loss": (N_("Loss"), GAN_LOSSES),
    "latent_dim": (N_("Noise dimensions"), range(LATENT_RANGE[0], LATENT_RANGE[1] + 1)),
    "batch_size": (N_("Batch size"), BATCH_SIZES),
    "seed": (N_("Seed"), range(SEED_RANGE[0], SEED_RANGE[1] + 1)),
    "g_hidden": (N_("G width"), range(WIDTH_RANGE[0], WIDTH_RANGE[1] + 1)),
    "g_depth": (N_("G depth"), range(DEPTH_RANGE[0], DEPTH_RANGE[1] + 1)),
    "d_hidden": (N_("D width"), range(WIDTH_RANGE[0], WIDTH_RANGE[1] + 1)),
    "d_depth": (N_("D depth"), range(DEPTH_RANGE[0], DEPTH_RANGE[1] + 1)),
    "lr_g": (N_("G learning rate"), LEARNING_RATES),
    "lr_d": (N_("D learning rate"), LEARNING_RATES),
    "d_steps": (N_("D steps per G step"), range(D_STEPS_RANGE[0], D_STEPS_RANGE[1] + 1)),
}


def settle(name: str, value, fallback):
    """``value`` if it is valid for setting ``name``, else the nearest valid value (``fallback`` when
    there is none), with a message saying what was wrong and what is used instead."""
    label, valid = SETTINGS[name]
    label = L_(label)
    if value in valid and type(value) is type(fallback):
        return value, None
    if isinstance(valid, range):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            settled = min(max(round(value), valid.start), valid[-1])
            return settled, L_("{label} must be a whole number from {low} to {high}; got {value}, so {settled} is "
                               "used.", label=label, low=valid.start, high=valid[-1], value=repr(value),
                               settled=settled)
    elif name.startswith("lr_"):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
            settled = min(valid, key=lambda rate: abs(math.log(rate / value)))
            return settled, L_("{label} {value} is not on the ladder ({low} to {high}, 1-2-5 steps); the "
                               "nearest rung, {settled}, is used.", label=label, value=f"{value:g}",
                               low=f"{valid[0]:g}",
                               high=f"{valid[-1]:g}", settled=f"{settled:g}")
    elif isinstance(valid[0], int) and isinstance(value, (int, float)) and not isinstance(value, bool):
        settled = min(valid, key=lambda choice: abs(choice - value))
        return settled, L_("{label} must be one of {valid}; got {value}, so {settled} is used.", label=label,
                           valid=", ".join(map(str, valid)), value=repr(value), settled=settled)
    if isinstance(valid, range):
        return fallback, L_("{label} must be a whole number from {low} to {high}; got {value}, so {fallback} is "
                            "used.", label=label, low=valid.start, high=valid[-1], value=repr(value),
                            fallback=repr(fallback))
    listed = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in valid)
    return fallback, L_("{label} must be one of {valid}; got {value}, so {fallback} is used.", label=label,
                        valid=listed, value=repr(value), fallback=repr(fallback))


# Settings that can change while a model trains (they only reach the optimizers and the step);
# every other setting needs a new model.
LIVE_SETTINGS = ("lr_g", "lr_d", "d_steps")


def preset_config(key: str) -> LabConfig:
    """The lab's config for one of its presets (registry.presets_for("gan_lab"))."""
    preset = presets_for("gan_lab")[key]
    return LabConfig(dataset=preset.dataset, lr_g=preset.train.lr, lr_d=preset.train.lr_discriminator,
                     batch_size=preset.train.batch_size, seed=preset.train.seed, **preset.model)


DEFAULT_PRESET = "balanced"
