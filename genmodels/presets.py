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
