"""From a checkpoint's stored configs back to code: the CLI command that would retrain the model,
and a short PyTorch script that rebuilds it and loads its weights."""

from __future__ import annotations

import dataclasses
import json
import shlex

from genmodels.checkpoints import CheckpointInfo
from genmodels.data import DATASETS

# Model-config fields the CLI can set, and their flags. Widths are written as N or N,M.
MODEL_FLAGS = {"arch": "--arch", "latent_dim": "--latent-dim", "beta": "--beta", "sparsity_target": "--rho",
               "sparsity_weight": "--sparsity-weight", "corruption": "--noise", "noise_level": "--noise-level",
               "d_steps": "--d-steps", "loss": "--gan-loss", "schedule": "--schedule"}
TRAIN_FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr", "lr_discriminator": "--lr-d",
               "seed": "--seed", "max_steps": "--max-steps", "max_seconds": "--max-seconds", "ema": "--ema"}
# ddpm / flow settings the command line leaves at the family's defaults.
DIFFUSION_DEFAULTS = {"time_dim": 32, "sample_steps": 50}


def train_command(info: CheckpointInfo) -> str:
    """The ``python -m genmodels train`` command that retrains this model from scratch, with a
    comment for anything the command line cannot express. Every word is quoted for the shell
    (shlex.quote), and names in comments are JSON strings on one line: a name is whatever someone
    typed or wrote into a checkpoint ("my ae", "a > b", a newline), and must not become shell syntax."""
    words = ["python", "-m", "genmodels", "train", info.family]
    notes = []
    if info.dataset in DATASETS:
        words += ["--dataset", info.dataset]
    else:
        notes.append(f"# trained on {json.dumps(info.dataset or 'unknown data')}, which the command line cannot load")
    config = dataclasses.asdict(info.model_config)
    if "g_hidden" in config:  # GANs: one --hidden sets both players' widths
        words += ["--hidden", str(config["g_hidden"])]
        for name in ("d_hidden", "g_depth", "d_depth"):
            default = {"d_hidden": config["g_hidden"], "g_depth": 2, "d_depth": 2}[name]
            if config[name] != default:
                notes.append(f"# {name}={config[name]} cannot be set from the command line")
    elif "hidden" in config:
        words += ["--hidden", ",".join(str(w) for w in config["hidden"]) or "none"]
    if "process" in config:  # ddpm / flow
        defaults = {**DIFFUSION_DEFAULTS, "sampler": "ddim" if config["process"] == "ddpm" else "euler"}
        notes += [f"# {name}={config[name]} cannot be set from the command line" for name, default in defaults.items()
                  if config[name] != default]
        if config["process"] == "flow":
            config.pop("schedule")  # flow has no noise schedule
    for field, flag in MODEL_FLAGS.items():
        if field in config:
            words += [flag, str(config[field])]
    if info.train_config is not None:
        train = dataclasses.asdict(info.train_config)
        # ddpm and flow average their weights by default: a run without the average says --ema 0.
        always = ("epochs", "seed", "ema") if "process" in config else ("epochs", "seed")
        for field, flag in TRAIN_FLAGS.items():
            if field in train and (train[field] or field in always):
                words += [flag, f"{train[field]:g}" if isinstance(train[field], float) else str(train[field])]
    words += ["--out", f"{' '.join(info.name.split())}.safetensors"]  # one line: no newline in a file name
    return "\n".join([*notes, " ".join(shlex.quote(word) for word in words)])


def loading_script(info: CheckpointInfo, filename: str) -> str:
    """A runnable script: rebuild the model from its config, load the weights, use it."""
    config_class = type(info.model_config)
    model_class = {"AutoencoderConfig": "Autoencoder", "VAEConfig": "VAE", "GANConfig": "GAN",
                   "DiffusionConfig": "DiffusionModel"}[config_class.__name__]
    module = {"Autoencoder": "autoencoder", "VAE": "vae", "GAN": "gan", "DiffusionModel": "diffusion"}[model_class]
    fields = json.dumps(dataclasses.asdict(info.model_config))
    if info.family in ("vae", "gan", "dcgan", "ddpm", "flow"):
        use = ("samples = model.sample(16, generator=torch.Generator().manual_seed(0))  # 16 new images\n"
               "print('samples:', tuple(samples.shape))")
    else:
        shape = (1, info.model_config.channels, info.model_config.image_size, info.model_config.image_size)
        use = (f"images = torch.rand{shape}  # replace with real images in [0, 1]\n"
               "codes = model.encode(images)\n"
               "print('codes:', tuple(codes.shape), 'reconstruction:', tuple(model.reconstruct(images).shape))")
    return f'''"""Rebuild {json.dumps(info.name)} ({info.family}) and load its weights.
Run from the Generative Models Lab folder (so that `genmodels` imports): python this_script.py"""
import json

import torch
from safetensors.torch import load_file

from genmodels.models.{module} import {config_class.__name__}, {model_class}

config = {config_class.__name__}(**{{k: tuple(v) if isinstance(v, list) else v
                                   for k, v in json.loads({fields!r}).items()}})
model = {model_class}(config)
model.load_state_dict(load_file({filename!r}))  # safetensors: plain tensors, no code
model.eval()

with torch.no_grad():
    {use.replace(chr(10), chr(10) + "    ")}
'''
