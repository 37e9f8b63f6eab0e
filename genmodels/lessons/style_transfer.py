"""Neural style transfer and texture synthesis by optimising pixels (Gatys, Ecker and Bethge, 2016).

The image x starts as the content picture (or as noise) and is changed, pixel by pixel, to lower

    L(x) = alpha L_content(x, p) + beta L_style(x, a) + gamma L_tv(x)

where p is the content picture, a the style picture, and the losses (style_losses.py) compare a
fixed network's features (models/features.py). With alpha = 0 and a start from noise this is
texture synthesis: the same code, asked only to match the style's Gram statistics.

``transfer(...)`` is a generator of frozen events, like the training loop: ``Started``, a
``Step`` after every optimiser step (the losses at the image before that step's update), a
``Snapshot`` (the current picture) every ``snapshot_every`` steps, and last ``Finished`` with the
result and the losses at the start and at the end. It stops within one step of ``stop`` being
set. ``run(...)`` drains it. The library never prints; the CLI and the page render the events.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from genmodels.configs import check_choice, check_float, check_int
from genmodels.errors import ConfigError, TrainingDiverged
from genmodels.i18n import L_, N_
from genmodels.lessons.style_losses import content_loss, gram_matrix, style_loss, total_variation
from genmodels.models.features import FeatureNetwork, network_info
from genmodels.runtime import resolve_device

OPTIMIZERS = ("lbfgs", "adam")
STARTS = ("content", "noise")
STYLE_WEIGHTS = (1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)  # the page's log ladder
MIN_SIZE, MAX_SIZE = 64, 512  # pixels on the long side


@dataclass(frozen=True)
class StyleConfig:
    """Every setting of one run. Empty layer fields mean the feature network's defaults."""

    features: str = "random"  # "random", "vgg19", "squeezenet" (models/features.py)
    content_layer: str = ""
    style_layers: tuple[str, ...] = ()
    content_weight: float = 1.0  # alpha; 0: texture synthesis
    style_weight: float = 1e3  # beta
    tv_weight: float = 0.0  # gamma
    size: int = 256  # the long side of the result, in pixels (the aspect is kept)
    steps: int = 300
    optimizer: str = "lbfgs"  # L-BFGS as in the paper, or Adam
    lr: float = 0.02  # Adam's step size, in pixel units (L-BFGS takes unit steps)
    start: str = "content"  # start from the content picture or from noise
    seed: int = 0  # the noise start (and the random network's filters)
    snapshot_every: int = 10
    device: str = "auto"
    max_seconds: float = 0.0  # wall-clock cap (0: none)

    def __post_init__(self):
        info = network_info(self.features)
        if self.content_layer:
            check_choice("content_layer", self.content_layer, info.layers)
        if not isinstance(self.style_layers, tuple):
            raise ConfigError(L_("{name} must be a list of layers; got {value}", name="style_layers",
                                 value=repr(self.style_layers)))
        for layer in self.style_layers:
            check_choice("style_layers", layer, info.layers)
        check_float("content_weight", self.content_weight, 0.0, 1e6)
        check_float("style_weight", self.style_weight, 0.0, 1e12)
        check_float("tv_weight", self.tv_weight, 0.0, 1e6)
        check_int("size", self.size, MIN_SIZE, MAX_SIZE)
        check_int("steps", self.steps, 1, 100_000)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_float("lr", self.lr, 1e-5, 1.0)
        check_choice("start", self.start, STARTS)
        check_int("seed", self.seed, 0, 2**31 - 1)
        check_int("snapshot_every", self.snapshot_every, 0, 100_000)
        check_float("max_seconds", self.max_seconds, 0.0, 7 * 24 * 3600)
        if self.content_weight == 0 and self.style_weight == 0:
            raise ConfigError(L_("the content weight and the style weight are both 0: there is nothing to optimise"))

    @property
    def texture(self) -> bool:
        """Texture synthesis: no content term, so the canvas takes the style picture's shape."""
        return self.content_weight == 0

    def layers(self) -> tuple[str, tuple[str, ...]]:
        """(content layer, style layers), the network's defaults where left empty."""
        info = network_info(self.features)
        return self.content_layer or info.content_layer, self.style_layers or info.style_layers


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Losses:
    """The weighted objective and its unweighted parts at one image."""

    total: float
    content: float
    style: float
    tv: float
    style_layers: dict[str, float] = field(default_factory=dict)  # each layer's E_l


@dataclass(frozen=True)
class Started:
    features: str
    device: str
    height: int
    width: int
    total_steps: int
    content_layer: str
    style_layers: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    step: int  # optimiser steps done, this one included
    losses: Losses  # at the image before this step's update
    steps_per_second: float  # of this step
    elapsed: float  # seconds since Started


@dataclass(frozen=True)
class Snapshot:
    step: int
    image: torch.Tensor  # (3, H, W) in [0, 1], on the CPU


@dataclass(frozen=True)
class Finished:
    step: int
    seconds: float
    reason: str  # "completed", "stopped", "time_limit"
    image: torch.Tensor  # (3, H, W) in [0, 1], on the CPU
    start: Losses  # at the first image
    end: Losses  # at the result


# --------------------------------------------------------------------------------------------
# Pictures in, the objective, the loop
# --------------------------------------------------------------------------------------------

def resize_long_side(image: torch.Tensor, size: int) -> torch.Tensor:
    """(3, H, W) -> (3, h, w) with max(h, w) = ``size`` and the aspect kept (antialiased)."""
    _, h, w = image.shape
    scale = size / max(h, w)
    shape = (max(16, round(h * scale)), max(16, round(w * scale)))
    return F.interpolate(image[None], size=shape, mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)


class Objective:
    """L(x) for fixed content and style pictures: their features are computed once, here."""

    def __init__(self, network: FeatureNetwork, config: StyleConfig, content: torch.Tensor, style: torch.Tensor):
        """``content`` and ``style``: (1, 3, H, W) in [0, 1], on the network's device."""
        self.network, self.config = network, config
        self.content_layer, self.style_layers = config.layers()
        with torch.no_grad():
            self.content_target = network.features(content, (self.content_layer,))[self.content_layer]
            style_features = network.features(style, self.style_layers)
            self.style_targets = {layer: gram_matrix(style_features[layer]) for layer in self.style_layers}

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(1, 3, H, W) -> the weighted total and each unweighted term (tensors, not read back)."""
        config = self.config
        wanted = self.style_layers + ((self.content_layer,) if config.content_weight else ())
        features = self.network.features(image, wanted)
        style, per_layer = style_loss({layer: gram_matrix(features[layer]) for layer in self.style_layers},
                                      self.style_targets)
        content = (content_loss(features[self.content_layer], self.content_target) if config.content_weight
                   else style.new_zeros(()))
        tv = total_variation(image)
        total = config.content_weight * content + config.style_weight * style + config.tv_weight * tv
        return total, {"content": content, "style": style, "tv": tv, **{f"style/{k}": v for k, v in per_layer.items()}}


def read_losses(total: torch.Tensor, terms: dict[str, torch.Tensor]) -> Losses:
    """One host sync: the tensors of ``Objective.__call__`` -> floats."""
    values = torch.stack([total.detach(), *(t.detach() for t in terms.values())]).tolist()
    named = dict(zip(terms, values[1:], strict=True))
    return Losses(total=values[0], content=named["content"], style=named["style"], tv=named["tv"],
                  style_layers={k.removeprefix("style/"): v for k, v in named.items() if k.startswith("style/")})


def starting_image(config: StyleConfig, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """The first x: a copy of the content picture, or uniform noise in [0, 1] from the seed, shaped
    like the content picture (like the style picture for texture synthesis)."""
    shape = style.shape if config.texture else content.shape
    if config.start == "content" and not config.texture:
        return content.clone()
    generator = torch.Generator().manual_seed(config.seed)
    return torch.rand(shape, generator=generator).to(content.device)


def make_optimizer(config: StyleConfig, image: torch.Tensor) -> torch.optim.Optimizer:
    """L-BFGS doing one iteration per call (one step, so a stop is seen between steps), with a
    strong-Wolfe line search (unit steps alone overshoot: the loss jumped a hundredfold); its
    curvature history carries over from call to call. Or Adam.

    ``max_eval`` must be given: its default (1.25 max_iter = 1) leaves the line search no
    evaluation at all, and L-BFGS stalls. A step takes about two evaluations on average."""
    if config.optimizer == "lbfgs":
        return torch.optim.LBFGS([image], lr=1.0, max_iter=1, max_eval=20, history_size=20,
                                 line_search_fn="strong_wolfe", tolerance_grad=0.0,
                                 tolerance_change=0.0)  # never stop by itself: the step count decides
    return torch.optim.Adam([image], lr=config.lr)


def transfer(config: StyleConfig, content: torch.Tensor, style: torch.Tensor, network: FeatureNetwork, *,
             stop: threading.Event | None = None) -> Iterator[Started | Step | Snapshot | Finished]:
    """Optimise the pixels of an image (see the module's docstring). ``content`` and ``style`` are
    (3, H, W) in [0, 1] of any size; both are resized to ``config.size`` on their long side."""
    device = resolve_device(config.device)
    network = network.to(device)
    content = resize_long_side(content.float(), config.size)[None].to(device)  # (1, 3, h, w)
    style = resize_long_side(style.float(), config.size)[None].to(device)
    objective = Objective(network, config, content, style)
    image = starting_image(config, content, style).requires_grad_(True)  # (1, 3, h, w): what is optimised
    optimizer = make_optimizer(config, image)
    began = time.perf_counter()
    yield Started(config.features, str(device), image.shape[2], image.shape[3], config.steps, objective.content_layer,
                  objective.style_layers)
    if config.snapshot_every:
        yield Snapshot(0, image.detach()[0].clamp(0, 1).cpu())

    evaluated: list = []  # the losses at the image before the step's update, set inside the closure

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        # The loss of the picture as shown: pixels clipped to [0, 1] (a pixel pushed past 1 counts
        # as 1), so the curves score exactly the picture that is drawn and saved.
        total, terms = objective(image.clamp(0, 1))
        total.backward()
        if not evaluated:  # a line search evaluates several images: keep the step's first one
            evaluated[:] = [total, terms]
        return total

    start = None
    step, reason = 0, "completed"
    while step < config.steps:
        if stop is not None and stop.is_set():
            reason = "stopped"
            break
        if config.max_seconds and time.perf_counter() - began > config.max_seconds:
            reason = "time_limit"
            break
        tick = time.perf_counter()
        evaluated.clear()
        optimizer.step(closure)
        if config.optimizer == "adam":
            with torch.no_grad():
                image.clamp_(0, 1)  # pixels back in range, where their gradient lives again
        # (L-BFGS's pixels are not clipped in place: moving them behind its back would spoil the
        # curvature it has learnt. A pixel it pushes past the range is scored and shown as 0 or 1,
        # and stays there: the clip passes it no gradient.)
        losses = read_losses(*evaluated)  # a host sync, which also makes the timing honest on a GPU
        if not math.isfinite(losses.total):
            raise TrainingDiverged(L_("the loss became {value} at step {step}; lower the style weight or, with "
                                      "Adam, the step size", value=losses.total, step=step + 1))
        if start is None:
            start = losses
        step += 1
        now = time.perf_counter()
        yield Step(step, losses, 1.0 / max(now - tick, 1e-9), now - began)
        if config.snapshot_every and step % config.snapshot_every == 0:
            yield Snapshot(step, image.detach()[0].clamp(0, 1).cpu())
    with torch.no_grad():
        result = image.detach().clamp(0, 1)  # (1, 3, h, w): the picture handed out, and scored
        end = read_losses(*objective(result))
    yield Finished(step, time.perf_counter() - began, reason, result[0].cpu(), start if start is not None else end,
                   end)


def run(config: StyleConfig, content: torch.Tensor, style: torch.Tensor, network: FeatureNetwork, *,
        on_event: Callable[[object], None] | None = None, stop: threading.Event | None = None) -> Finished:
    """Drain ``transfer``, handing each event to ``on_event``; the ``Finished`` event."""
    finished = None
    for event in transfer(config, content, style, network, stop=stop):
        if on_event is not None:
            on_event(event)
        if isinstance(event, Finished):
            finished = event
    return finished


def gram_picture(network: FeatureNetwork, image: torch.Tensor, layer: str, channels: int = 48,
                 size: int = 256) -> torch.Tensor:
    """The Gram matrix that ``network`` sees at ``layer`` for one picture ((3, H, W) in [0, 1],
    first resized to ``size`` on its long side, as a run would), its first ``channels`` rows and
    columns: (c, c) on the CPU, for a heatmap."""
    device = next(network.parameters()).device
    picture = resize_long_side(image.float(), size)[None].to(device)  # (1, 3, h, w)
    with torch.no_grad():
        features = network.features(picture, (layer,))[layer]  # (1, C, h, w)
        return gram_matrix(features)[0, :channels, :channels].cpu()  # (C, C) -> (c, c)


# --------------------------------------------------------------------------------------------
# The page's presets: the one table (the CLI's defaults are the offline preset's)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StylePreset:
    title: str  # N_-marked
    note: str  # N_-marked: what to watch for
    content: str  # a bundled picture (lessons/pictures.py)
    style: str
    config: StyleConfig


PRESETS = {
    "offline": StylePreset(
        N_("Offline: random multi-scale filters"),
        N_("No download needed. Random filters know no objects, so the content survives as outlines and "
           "colours rather than as recognisable parts."),
        "chelsea", "waves", StyleConfig(features="random", style_weight=1e3, size=192, steps=150)),
    "texture": StylePreset(
        N_("Texture synthesis (no content)"),
        N_("Content weight 0, start from noise: the picture only has to match the style's Gram matrices. What "
           "comes out is what those statistics capture."),
        "chelsea", "brick", StyleConfig(features="random", content_weight=0.0, start="noise", size=128, steps=150)),
    "paper": StylePreset(
        N_("The paper's setting: VGG-19, L-BFGS"),
        N_("Gatys et al.: VGG-19 with average pooling, content at relu4_2, style at relu1_1 to relu5_1, L-BFGS "
           "from the content picture. Slow on a CPU: try 256 px and 100 steps first."),
        "astronaut", "waves", StyleConfig(features="vgg19", style_weight=1e5, size=256, steps=200)),
}
