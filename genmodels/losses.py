"""Loss functions: small, pure, and explicit about their reductions.

Conventions, stated once and kept everywhere:
- images are in [0, 1]; decoders output logits, and reconstruction losses take those logits
  (``binary_cross_entropy_with_logits`` is the numerically stable form of BCE after a sigmoid);
- "per image" means summed over pixels (and latent dims), then averaged over the batch, so a VAE's
  loss is the negative ELBO in nats per image, the number pytorch/examples ``vae/main.py`` prints;
- GAN losses take the discriminator's logits, never probabilities.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_per_image(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood of ``target`` pixels under ``sigmoid(logits)``:

        BCE = -sum_i [ x_i log p_i + (1 - x_i) log(1 - p_i) ],  p = sigmoid(logits)

    summed over all pixels of an image, averaged over the batch. Shapes (B, ...) -> scalar."""
    return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / target.shape[0]


def mse_per_image(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error summed over the pixels of an image, averaged over the batch."""
    return F.mse_loss(prediction, target, reduction="sum") / target.shape[0]


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ), the VAE's prior term (Kingma & Welling 2014,
    appendix B):

        KL = -1/2 * sum_j ( 1 + logvar_j - mu_j^2 - exp(logvar_j) )

    summed over latent dims j, averaged over the batch. Shapes (B, D) -> scalar, in nats."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]


def negative_elbo(logits, target, mu, logvar, beta: float = 1.0):
    """L_beta = BCE + beta * KL per image. At beta = 1 this is the negative ELBO (the VAE's loss);
    any other beta gives the beta-VAE objective of Higgins et al. 2017, which is not -ELBO.
    Returns (loss, bce, kl), all scalars in nats per image."""
    bce = bce_per_image(logits, target)
    kl = gaussian_kl(mu, logvar)
    return bce + beta * kl, bce, kl


def point_negative_elbo(mean, target, mu, logvar, sigma: float):
    """-ELBO per point of a VAE for 2-D points, whose decoder gives the mean of a Gaussian
    p(x|z) = N(mean, sigma^2 I) with a fixed sigma (models/vae.PointVAE):

        -log p(x|z) = |x - mean|^2 / (2 sigma^2) + D log(sigma sqrt(2 pi))

    The constant (D = 2 here) is left out: it moves the loss, not its gradients. Plus
    KL(q(z|x) || N(0, I)) as gaussian_kl. Shapes (B, D) -> (loss, reconstruction, kl), scalars."""
    reconstruction = (mean - target).pow(2).sum() / (2 * sigma**2 * target.shape[0])
    kl = gaussian_kl(mu, logvar)
    return reconstruction + kl, reconstruction, kl


def sparsity_kl(code: torch.Tensor, rho: float) -> torch.Tensor:
    """The sparse autoencoder's penalty (Ng, CS294A lecture notes, 2011):

        rho_hat_j = (1/B) sum_b h_bj                      mean activation of unit j over the batch
        penalty   = sum_j KL(rho || rho_hat_j)
                  = sum_j [ rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j)) ]

    ``code`` is (B, J) with sigmoid activations in (0, 1). The mean is taken per unit (over the
    batch dim only), and the KL is summed over units: it is 0 exactly when every unit's mean
    activation equals rho. rho_hat is clamped away from 0 and 1 so the logs stay finite."""
    rho_hat = code.mean(dim=0).clamp(1e-6, 1 - 1e-6)  # (J,)
    return torch.sum(rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat)))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's side of the minimax game (Goodfellow et al. 2014), as a loss to minimise:

        L_D = -E[ log D(x) ] - E[ log(1 - D(G(z))) ],  D = sigmoid(logit)

    i.e. BCE with target 1 on real logits and target 0 on fake logits, each averaged over its batch."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss (Goodfellow et al. 2014, section 3):

        L_G = -E[ log D(G(z)) ]

    instead of minimising E[log(1 - D(G(z)))], whose gradient vanishes while D easily rejects
    the early fakes. BCE with target 1 on the fake logits, averaged over the batch."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_loss_least_squares(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN (Mao et al. 2017), a-b coding with a=0 (fake), b=1 (real), on the raw
    discriminator outputs: L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]."""
    return 0.5 * ((real_logits - 1).pow(2).mean() + fake_logits.pow(2).mean())


def generator_loss_least_squares(fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN generator loss with c=1: L_G = 1/2 E[(D(G(z)) - 1)^2]."""
    return 0.5 * (fake_logits - 1).pow(2).mean()


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of class logits (B, K) against labels (B,): -log softmax(logits)[label],
    averaged over the batch (nats per image). Trains the Frechet distance's feature classifier."""
    return F.cross_entropy(logits, labels)


def noise_prediction_loss(predicted_noise: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """DDPM's simple loss (Ho et al. 2020, eq. 14), the squared error of the predicted noise:

        L_simple = E_{x_0, i, eps} | eps - eps_theta(sqrt(abar_i) x_0 + sqrt(1 - abar_i) eps, i) |^2

    Where it comes from: the negative ELBO of the T-step model is a sum of KLs between the true
    reverse step q(x_{i-1} | x_i, x_0) and the model's p(x_{i-1} | x_i), both Gaussian with the same
    variance, so each KL is a squared distance between their means. Writing x_0 through
    x_i = sqrt(abar_i) x_0 + sqrt(1 - abar_i) eps makes the true mean
    1/sqrt(alpha_i) (x_i - beta_i / sqrt(1 - abar_i) eps), so predicting the mean is predicting eps;
    the KL's weight beta_i^2 / (2 sigma_i^2 alpha_i (1 - abar_i)) is dropped (Ho et al. found the
    unweighted loss trains better samples). Averaged over every value and the batch (per pixel or
    coordinate, as the reference code does). Shapes (B, ...) -> scalar."""
    return F.mse_loss(predicted_noise, noise)


def flow_matching_loss(predicted_velocity: torch.Tensor, velocity: torch.Tensor) -> torch.Tensor:
    """Conditional flow matching (Lipman et al. 2023; rectified flow, Liu et al. 2023):

        L_CFM = E_{x_0, eps, t ~ U[0, 1]} | (eps - x_0) - v_theta((1 - t) x_0 + t eps, t) |^2

    Where it comes from: we want v_theta(x, t) to be the velocity u(x, t) of a flow that carries the
    data (t = 0) to the noise (t = 1). u is the average of the straight paths' velocities eps - x_0
    over all pairs (x_0, eps) whose path passes through x at time t: u(x, t) = E[eps - x_0 | x_t = x].
    The squared error against the per-pair velocity has the same gradient as the error against u
    (the two differ by a term without theta), so regressing on eps - x_0 learns u. Averaged over
    every value and the batch. Shapes (B, ...) -> scalar."""
    return F.mse_loss(predicted_velocity, velocity)
