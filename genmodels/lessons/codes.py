"""What an autoencoder's code layer learns: activation statistics and decoder features; and how
autoencoders of several code sizes compare with PCA of the same size (the bottleneck chart).

For a sparse autoencoder with sigmoid code units h_j in (0, 1), rho_hat_j (unit j's mean
activation over the images) is what the KL penalty pushes towards rho. A single-layer decoder
x_hat = sigmoid(W h + b) paints each unit's column W[:, j] onto the image when the unit fires:
that column, drawn as a picture, is the unit's *feature*.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genmodels.i18n import L_, LazyText

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
        raise ValueError(L_("decoder features are images only for an MLP autoencoder without hidden layers"))
    linear = model.decoder[0][0]  # Linear(J, C*H*W): weight (C*H*W, J)
    features = linear.weight.detach().float().cpu().T  # (J, C*H*W)
    low = features.min(dim=1, keepdim=True).values
    high = features.max(dim=1, keepdim=True).values
    scaled = (features - low) / (high - low).clamp_min(1e-8)
    return scaled.view(-1, config.channels, config.image_size, config.image_size)


# --------------------------------------------------------------------------------------------
# The bottleneck chart: each autoencoder against PCA with as many components as its code
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgainstPCA:
    """One autoencoder on the bottleneck chart, beside PCA with k = its code size."""

    name: str
    code_size: int
    psnr: float  # mean test PSNR of its reconstructions (dB)
    pca_psnr: float  # ... of PCA's with code_size components, on the same images
    reasons: tuple[LazyText, ...]  # what about the model explains where it lands (from its config)

    @property
    def beats_pca(self) -> bool:
        return self.psnr > self.pca_psnr


def why(config, epochs: int, beats_pca: bool) -> tuple[LazyText, ...]:
    """The facts of a model's make-up that explain its place against PCA, read from its config:
    a sparsity penalty costs reconstruction on purpose; one layer each way is a nearly linear code,
    and PCA is the best linear code there is (gradient descent only approaches it); hidden layers
    or convolutions make the code nonlinear, which is how an autoencoder can beat PCA."""
    reasons = []
    if getattr(config, "sparsity_weight", 0) > 0:
        reasons.append(L_("a sparsity penalty (beta {beta}) trades reconstruction for silent code units",
                          beta=f"{config.sparsity_weight:g}"))
    if config.arch == "mlp" and not config.hidden:
        reasons.append(L_("one layer each way: nearly a linear code, and PCA is the best linear code there is "
                          "(training only approaches it; {epochs} epochs here)", epochs=epochs))
    elif beats_pca:
        reasons.append(L_("convolutions make the code nonlinear") if config.arch == "conv"
                       else L_("hidden layers make the code nonlinear"))
    else:
        reasons.append(L_("its layers could make the code nonlinear, but after {epochs} epochs it has not "
                          "caught up with PCA (train it longer)", epochs=epochs))
    return tuple(reasons)


def against_pca(points: list[tuple[str, int, float, object, int]], pca: dict[int, float]) -> list[AgainstPCA]:
    """``points``: (name, code size, PSNR, model config, epochs trained) per autoencoder; ``pca``:
    code size -> PCA's PSNR on the same images, for every size in ``points``."""
    return [AgainstPCA(name, size, value, pca[size], why(config, epochs, value > pca[size]))
            for name, size, value, config, epochs in points]


def wider_but_worse(results: list[AgainstPCA]) -> tuple[AgainstPCA, AgainstPCA] | None:
    """A pair (wider, narrower) where the wider code reconstructs worse, the widest gap first;
    None when PSNR grows with code size across these autoencoders."""
    pairs = [(a, b) for a in results for b in results if a.code_size > b.code_size and a.psnr < b.psnr]
    return max(pairs, key=lambda pair: pair[1].psnr - pair[0].psnr, default=None)
