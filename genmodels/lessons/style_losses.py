"""The losses of neural style transfer (Gatys, Ecker and Bethge, CVPR 2016), as pure functions.

Feature maps are (B, C, H, W); the style-transfer loop uses B = 1. What the page shows with
``st.latex`` is written in each docstring's first lines, and tests/test_style_losses.py checks
the code against those formulas on tiny tensors.
"""

from __future__ import annotations

import torch


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """The normalised Gram matrix of one layer's feature maps:

        G = F F^T / (C H W),   F: the features reshaped to (C, H W)

    so G_ij is the mean over positions of the product of channels i and j, divided by C. It
    forgets where things are and keeps which features occur together: a texture's statistics.
    (B, C, H, W) -> (B, C, C)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)  # (B, C, HW)
    return flat @ flat.transpose(1, 2) / (c * h * w)  # (B, C, C)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The mean squared difference of the image's and the content image's feature maps at one layer:

        L_content = 1/(C H W) sum_{c,i,j} (F_cij(x) - F_cij(p))^2

    averaged over every element (Gatys et al. write 1/2 times the sum; the constant is folded into
    the content weight). (B, C, H, W) twice -> scalar."""
    return (features - target).pow(2).mean()


def style_layer_loss(gram: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """One layer's style loss: the squared difference of two normalised Gram matrices, summed over
    their C x C entries,

        E_l = sum_{i,j} (G^l_ij(x) - G^l_ij(a))^2

    (Gatys et al.'s E_l with the 1/(4 N^2 M^2) in the normalisation of G, up to a factor 1/4).
    (B, C, C) twice -> scalar, averaged over the batch."""
    return (gram - target_gram).pow(2).sum(dim=(1, 2)).mean()


def style_loss(grams: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """The style loss over layers, each weighted equally, w_l = 1 / |layers| as in the paper:

        L_style = sum_l w_l E_l

    Returns the total and each layer's E_l (for the per-layer curves)."""
    per_layer = {layer: style_layer_loss(grams[layer], target_grams[layer]) for layer in target_grams}
    total = sum(per_layer.values()) / len(per_layer)
    return total, per_layer


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Total variation: the mean squared difference between neighbouring pixels, down and across,

        L_tv = mean_{c,i,j} (x_c,i+1,j - x_c,i,j)^2 + mean_{c,i,j} (x_c,i,j+1 - x_c,i,j)^2

    small for smooth images: a little of it removes the high-frequency speckle that optimising
    pixels leaves. (B, 3, H, W) -> scalar."""
    down = image[:, :, 1:, :] - image[:, :, :-1, :]  # (B, 3, H-1, W)
    across = image[:, :, :, 1:] - image[:, :, :, :-1]  # (B, 3, H, W-1)
    return down.pow(2).mean() + across.pow(2).mean()
