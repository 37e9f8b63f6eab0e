"""The fixed networks whose features the style-transfer lesson matches: VGG-19 (the paper's),
SqueezeNet 1.1 (a small trained one) and a shallow multi-scale network with random filters (no
download: the lesson works offline).

Every network takes RGB images in [0, 1], shaped (B, 3, H, W) at any H, W >= 16, and answers with
a dict of named layers' feature maps, each (B, C_l, H_l, W_l). It never trains: its parameters do
not require gradients, only the image being optimised does.

- Gatys, Ecker and Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016:
  VGG-19 with its max pools replaced by average pools ("slightly more appealing results").
- Ustyuzhaninov, Brendel, Gatys and Bethge, "Texture Synthesis Using Shallow Convolutional
  Networks with Random Filters", 2016: one layer of random filters at several scales already
  synthesises convincing textures. We get the scales from an image pyramid (the image at 1, 1/2,
  1/4, ... of its size, one small random convolution each) rather than from filters up to 55x55
  pixels: the same receptive fields, a hundredth of the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genmodels.configs import check_choice, check_int
from genmodels.i18n import N_

# ImageNet's channel statistics: the trained networks expect images normalised with them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class NetworkInfo:
    """What a page or the CLI needs to know about a feature network before building it."""

    name: str  # "random", "vgg19", "squeezenet"
    title: str  # N_-marked, translated where shown
    layers: tuple[str, ...]  # every layer a loss may use, shallow to deep
    content_layer: str  # the default content layer
    style_layers: tuple[str, ...]  # the default style layers
    style_weight: float  # a default style weight that balances content and style for this network
    download_mb: float  # size of the weights file (0: none needed)


NETWORKS = {
    "random": NetworkInfo(
        "random", N_("Random multi-scale filters (offline)"),
        layers=("scale1", "scale2", "scale4", "scale8", "scale16"), content_layer="scale2",
        style_layers=("scale1", "scale2", "scale4", "scale8", "scale16"), style_weight=1e3, download_mb=0),
    "vgg19": NetworkInfo(
        "vgg19", N_("VGG-19 trained on ImageNet (the paper's)"),
        layers=("relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3", "relu3_4", "relu4_1",
                "relu4_2", "relu4_3", "relu4_4", "relu5_1"),
        content_layer="relu4_2", style_layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        style_weight=1e5, download_mb=548),
    # Layers as in Stanford's CS231n style-transfer assignment, which uses this network.
    "squeezenet": NetworkInfo(
        "squeezenet", N_("SqueezeNet 1.1 trained on ImageNet (small)"),
        layers=("conv1", "fire2", "fire3", "fire4", "fire5", "fire6", "fire7", "fire8", "fire9"),
        content_layer="fire2", style_layers=("conv1", "fire3", "fire4", "fire5"), style_weight=1e4,
        download_mb=5),
}


def network_info(name: str) -> NetworkInfo:
    check_choice("features", name, tuple(NETWORKS))
    return NETWORKS[name]


class FeatureNetwork(nn.Module):
    """A frozen network that returns the feature maps of the layers asked for."""

    info: NetworkInfo

    def features(self, images: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """(B, 3, H, W) in [0, 1] -> {layer: (B, C_l, H_l, W_l)} for each of ``layers``."""
        raise NotImplementedError

    def frozen(self) -> FeatureNetwork:
        self.eval()
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        return self


# --------------------------------------------------------------------------------------------
# Random filters at several scales (offline)
# --------------------------------------------------------------------------------------------

class RandomMultiScale(FeatureNetwork):
    """One convolution + ReLU per scale of an image pyramid, with random filters drawn from a seed.

    Scale s sees the image average-pooled by s (scale1: full size, scale16: 1/16), so its 5x5
    filters cover 5s x 5s pixels of the original: scale1 answers to fine grain, scale16 to shapes
    tens of pixels wide. Filters are zero-mean Gaussian with variance 2 / fan_in (He
    initialisation), so each scale's responses have about the same size; biases are zero, which
    centres the ReLU's threshold on the image's (centred) mean.

    64 filters per scale: 128 told textures apart no better (tests/test_style_transfer.py) and made
    a step at 256 px three times slower, most of it in the Gram matrices (C^2 H W).
    """

    def __init__(self, channels: int = 64, kernel: int = 5, seed: int = 0):
        super().__init__()
        check_int("channels", channels, 1, 1024)
        check_int("seed", seed, 0, 2**31 - 1)
        self.info = NETWORKS["random"]
        self.kernel = kernel
        generator = torch.Generator().manual_seed(seed)
        fan_in = 3 * kernel * kernel
        # One (channels, 3, k, k) bank per scale, drawn in layer order from the one generator.
        self.filters = nn.ParameterList([
            nn.Parameter(torch.randn(channels, 3, kernel, kernel, generator=generator) * (2 / fan_in) ** 0.5)
            for _ in self.info.layers])
        self.frozen()

    @staticmethod
    def factor(layer: str) -> int:
        return int(layer.removeprefix("scale"))

    def features(self, images: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        x = images - 0.5  # centre the pixels, so the ReLUs cut in the middle of the range
        out = {}
        for layer, weight in zip(self.info.layers, self.filters, strict=True):
            if layer not in layers:
                continue
            factor = self.factor(layer)
            # (B, 3, H, W) -> (B, 3, H/s, W/s): each pixel the mean of an s x s block
            pyramid = F.avg_pool2d(x, factor, ceil_mode=True) if factor > 1 else x
            out[layer] = F.relu(F.conv2d(pyramid, weight, padding=self.kernel // 2))  # (B, C, H/s, W/s)
        return out


# --------------------------------------------------------------------------------------------
# Trained networks through torchvision (weights from genmodels.sources.weights)
# --------------------------------------------------------------------------------------------

class TorchvisionFeatures(FeatureNetwork):
    """A torchvision classifier's convolutional part, cut after the deepest layer any loss may use,
    with each layer of ``info.layers`` named after the module whose output it is."""

    def __init__(self, info: NetworkInfo, body: nn.Sequential, names: dict[int, str]):
        super().__init__()
        self.info = info
        last = max(index for index, name in names.items() if name in info.layers)
        self.body = body[:last + 1]  # (nothing deeper is ever read)
        self.names = names  # index in body -> layer name, for the modules whose outputs are layers
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.frozen()

    def features(self, images: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        x = (images - self.mean) / self.std  # the normalisation the network was trained with
        out = {}
        for index, module in enumerate(self.body):
            x = module(x)
            name = self.names.get(index)
            if name in layers:
                out[name] = x
                if len(out) == len(layers):
                    break  # nothing deeper is needed
        return out


def vgg19_features(state_dict: dict[str, torch.Tensor] | None = None) -> TorchvisionFeatures:
    """VGG-19's 16 convolutions with average pooling; ``state_dict`` is torchvision's file's (None:
    random weights, for tests of the plumbing only). Layer reluB_I is the I-th ReLU of block B."""
    from torchvision.models import vgg19

    model = vgg19(weights=None)
    if state_dict is not None:
        model.load_state_dict(state_dict)  # strict: a file of another network is refused
    body, names, block, index = model.features, {}, 1, 1
    for position, module in enumerate(body):
        if isinstance(module, nn.ReLU):
            names[position] = f"relu{block}_{index}"
            index += 1
            body[position] = nn.ReLU(inplace=False)  # the features are read, not overwritten
        elif isinstance(module, nn.MaxPool2d):
            body[position] = nn.AvgPool2d(kernel_size=2, stride=2)  # Gatys et al.'s choice
            block, index = block + 1, 1
    return TorchvisionFeatures(NETWORKS["vgg19"], body, names)


def squeezenet_features(state_dict: dict[str, torch.Tensor] | None = None) -> TorchvisionFeatures:
    """SqueezeNet 1.1's feature part: conv1 (after its ReLU), then fire2 ... fire9 (Fire modules,
    numbered as in the paper by Iandola et al.); the max pools stay."""
    from torchvision.models import squeezenet1_1
    from torchvision.models.squeezenet import Fire

    model = squeezenet1_1(weights=None)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    body, names, fire = model.features, {1: "conv1"}, 2
    body[1] = nn.ReLU(inplace=False)
    for position, module in enumerate(body):
        if isinstance(module, Fire):
            names[position] = f"fire{fire}"
            fire += 1
    return TorchvisionFeatures(NETWORKS["squeezenet"], body, names)


def build_network(name: str, seed: int = 0, state_dict: dict[str, torch.Tensor] | None = None) -> FeatureNetwork:
    """The feature network ``name``: the random one from ``seed``; a trained one from its weights."""
    info = network_info(name)
    if info.name == "random":
        return RandomMultiScale(seed=seed)
    return {"vgg19": vgg19_features, "squeezenet": squeezenet_features}[info.name](state_dict)
