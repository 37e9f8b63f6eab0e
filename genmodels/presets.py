"""Presets: per-family settings that train to a recognisable result in about a minute on a 2-core
CPU (seconds on a GPU). The Train page starts from these; each is also a CLI command."""

from __future__ import annotations

from dataclasses import dataclass, field

from genmodels.training import TrainConfig


@dataclass(frozen=True)
class Preset:
    family: str
    dataset: str
    model: dict = field(default_factory=dict)  # overrides of the family's default config
    train: TrainConfig = TrainConfig()
    note: str = ""


PRESETS: dict[str, Preset] = {
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
}


# GAN studio: a healthy DCGAN, an MLP GAN that struggles, and runs that fail on purpose, each with the
# symptom the page's diagnostics should name. All train on Fashion-MNIST and show samples within a minute.
GAN_STUDIO_PRESETS: dict[str, Preset] = {
    "Balanced DCGAN": Preset(
        "dcgan", "fashion-mnist", {"latent_dim": 64, "hidden": 32},
        TrainConfig(epochs=1, batch_size=128, lr=2e-4, snapshot_every=25, snapshot_count=32),
        note="The DCGAN paper's recipe (Adam 2e-4, beta1 0.5, one D step per G step), narrower: garments appear "
             "within a few hundred steps."),
    "MLP GAN": Preset(
        "gan", "fashion-mnist", {"latent_dim": 64, "hidden": 256},
        TrainConfig(epochs=2, batch_size=128, lr=2e-4, snapshot_every=25, snapshot_count=32),
        note="Fully connected players, as in the original GAN paper, with the DCGAN's optimiser settings. They "
             "struggle on garments: within a few hundred steps D pulls ahead and wins, and the samples stay blurry "
             "(alike at first, then a little more varied). Compare "
             "with the DCGAN, whose convolutions suit images."),
    "Failure: unbalanced learning rates": Preset(
        "dcgan", "fashion-mnist", {"latent_dim": 64, "hidden": 32},
        TrainConfig(epochs=1, batch_size=128, lr=2e-5, lr_discriminator=2e-3, snapshot_every=25, snapshot_count=32),
        note="D learns 100x faster than G: it soon tells real from fake perfectly (D(x) -> 1, D(G(z)) -> 0) and "
             "G is left with no useful signal."),
    "Failure: too many D steps": Preset(
        "gan", "fashion-mnist", {"latent_dim": 64, "hidden": 256, "d_steps": 5},
        TrainConfig(epochs=1, batch_size=128, lr=2e-4, lr_discriminator=1e-3, snapshot_every=25,
                    snapshot_count=32),
        note="Five discriminator updates before each generator update: D stays ahead and wins."),
    "Failure: tiny generator": Preset(
        "gan", "fashion-mnist", {"latent_dim": 64, "g_hidden": 8, "g_depth": 1, "d_hidden": 256},
        TrainConfig(epochs=2, batch_size=128, lr=1e-3, snapshot_every=25, snapshot_count=32),
        note="A generator with 8 hidden units cannot draw the variety of garments, so it settles on a few blurry "
             "outputs whatever the noise (mode collapse)."),
}
