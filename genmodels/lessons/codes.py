"""What an autoencoder's code layer learns: activation statistics and decoder features.

For a sparse autoencoder with sigmoid code units h_j in (0, 1), rho_hat_j (unit j's mean
activation over the images) is what the KL penalty pushes towards rho. A single-layer decoder
x_hat = sigmoid(W h + b) paints each unit's column W[:, j] onto the image when the unit fires:
that column, drawn as a picture, is the unit's *feature*.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

DEAD_BELOW = 0.01  # a unit whose mean activation is under this almost never fires
ALWAYS_ON_ABOVE = 0.9  # ... and over this almost always fires: neither carries information


@dataclass(frozen=True)
class ActivationStats:
    mean_per_unit: torch.Tensor  # (J,) rho_hat_j over the images
    activations: torch.Tensor  # (N, J) the codes themselves
    dead: int
    always_on: int

    def histogram(self, bins: int = 50) -> tuple[list[float], list[float]]:
        """Bin centres and counts of all activations over [0, 1] (a few numbers to plot instead of
        every activation)."""
        counts = torch.histc(self.activations, bins=bins, min=0.0, max=1.0)
        return [(i + 0.5) / bins for i in range(bins)], counts.tolist()


@torch.no_grad()
def activation_stats(model, images: torch.Tensor) -> ActivationStats:
    weight = next(model.parameters())
    codes = model.encode(images.to(weight.device, weight.dtype)).float().cpu()  # (N, J)
    mean = codes.mean(dim=0)
    return ActivationStats(mean_per_unit=mean, activations=codes, dead=int((mean < DEAD_BELOW).sum()),
                           always_on=int((mean > ALWAYS_ON_ABOVE).sum()))


@torch.no_grad()
def decoder_features(model) -> torch.Tensor:
    """Each code unit's decoder weights as an image: (J, C, H, W), each rescaled to [0, 1] on its
    own (min to black, max to white) so that its pattern shows. Only single-layer MLP decoders
    have such images; others raise ValueError."""
    config = model.config
    if config.arch != "mlp" or config.hidden:
        raise ValueError("decoder features are images only for an MLP autoencoder without hidden layers")
    linear = model.decoder[0][0]  # Linear(J, C*H*W): weight (C*H*W, J)
    features = linear.weight.detach().float().cpu().T  # (J, C*H*W)
    low = features.min(dim=1, keepdim=True).values
    high = features.max(dim=1, keepdim=True).values
    scaled = (features - low) / (high - low).clamp_min(1e-8)
    return scaled.view(-1, config.channels, config.image_size, config.image_size)
