"""The MLP VAE's training step with its backward pass written out: the CPU fast path of
``training.steps.vae_step``.

Why: on the CPU the classic 784-400-20 VAE at batch 128 is small enough that autograd's
bookkeeping (recording every operation of the forward pass, then running its engine backward and
accumulating each gradient) is a good part of a step: on 2 cores an epoch trains at 45,000-47,000
images/s this way against 39,600-42,800 through autograd (BENCHMARKS.md). The loss values
still come from ``losses.negative_elbo``; only the gradients are derived here, and
tests/test_vae_by_hand.py checks them against autograd's for several depths, sizes and betas.

The forward pass (B images of P pixels; every layer ``y = u W^T + b``):

    encoder    h_0 = x (B, P),   h_i = relu(h_{i-1} W_i^T + b_i)             i = 1..n
    posterior  [mu, logvar] = h_n W^T + b,   sigma = exp(logvar / 2),   z = mu + sigma * eps
    decoder    d_0 = z,   d_j = relu(d_{j-1} W_j^T + b_j)   (no relu on the last layer: logits)
    loss       L = BCE(logits, x) / B + beta * KL(mu, logvar) / B            (losses.py)

Backward, writing g_t for dL/dt:

    logits     g_logits = (sigmoid(logits) - x) / B
    a layer    g_W = g_y^T u,   g_b = sum over the batch of g_y,   g_u = g_y W
    a relu     g_a = g_h where h > 0, else 0
    posterior  g_mu = g_z + beta * mu / B
               g_logvar = g_z * eps * sigma / 2 + beta * (exp(logvar) - 1) / (2 B)
"""

from __future__ import annotations

import torch
from torch import nn

from genmodels import losses
from genmodels.models.common import randn
from genmodels.models.vae import VAE


def applies(model: nn.Module, device: torch.device) -> bool:
    """Whether ``vae_step_by_hand`` trains ``model`` exactly as autograd would: an MLP VAE (the VAE
    class itself, whose layers are known) in fp32 on the CPU, not compiled, whose parameters are
    exactly its Linear layers' weights and biases, all trainable (no parametrization such as weight
    norm, no tied weights), with no hooks that autograd or a module call would run. Anything else,
    and every GPU (where the forward pass runs in bf16 autocast), goes through autograd."""
    if type(model) is not VAE or model.config.arch != "mlp" or device.type != "cpu":
        return False
    layers = [*linear_layers(model.encoder), model.to_posterior, *linear_layers(model.decoder)]
    expected = [tensor for layer in layers for tensor in (layer.weight, layer.bias)]
    parameters = list(model.parameters())  # each tensor once, so tied weights make it shorter
    if len(parameters) != len(expected) or {id(p) for p in parameters} != {id(t) for t in expected}:
        return False
    module_hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    tensor_hooks = ("_backward_hooks", "_post_accumulate_grad_hooks")
    return (all(getattr(part, "_compiled_call_impl", None) is None
                for part in (model.encoder, model.decoder, model.to_posterior))
            and not any(getattr(m, hooks, None) for m in model.modules() for hooks in module_hooks)
            and not any(getattr(p, hooks, None) for p in parameters for hooks in tensor_hooks)
            and all(p.requires_grad and p.dtype == torch.float32 for p in parameters))


def linear_layers(part: nn.Module) -> list[nn.Linear]:
    """``part``'s Linear layers in the order the forward pass runs them."""
    return [m for m in part.modules() if isinstance(m, nn.Linear)]


def linear_backward(layer: nn.Linear, layer_input: torch.Tensor, grad_output: torch.Tensor,
                    need_input_grad: bool = True) -> torch.Tensor | None:
    """Store ``layer``'s weight and bias gradients for y = u W^T + b, given u (B, in) and g_y
    (B, out); return g_u (B, in) unless not needed."""
    layer.weight.grad = grad_output.t().mm(layer_input)  # (out, in)
    layer.bias.grad = grad_output.sum(0)  # (out,)
    return grad_output.mm(layer.weight) if need_input_grad else None


def relu_backward(grad_output: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """g_a from g_h for h = relu(a): the gradient passes where the unit fired (h > 0). The same
    kernel autograd runs for a ReLU."""
    return torch.ops.aten.threshold_backward(grad_output, output, 0)


@torch.no_grad()
def vae_step_by_hand(model: VAE, x: torch.Tensor, generator: torch.Generator,
                     optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """One Adam update of an MLP VAE (``applies(model, ...)`` must hold) on images x (B, C, H, W):
    the same noise, loss and gradients as ``training.steps.vae_step`` through autograd, up to float
    rounding. Returns the loss terms (scalars): loss, bce, kl."""
    encoder, decoder = linear_layers(model.encoder), linear_layers(model.decoder)
    batch, beta = x.shape[0], model.config.beta
    pixels = x.flatten(1)  # (B, P)

    # Forward, keeping every layer's input (for its weight gradient) and output (for its relu).
    encoder_inputs, h = [], pixels
    for layer in encoder:
        encoder_inputs.append(h)
        h = torch.addmm(layer.bias, h, layer.weight.t()).relu_()  # (B, width)
    posterior = model.to_posterior
    mu, logvar = torch.addmm(posterior.bias, h, posterior.weight.t()).chunk(2, dim=1)  # 2 x (B, latent)
    eps = randn(mu.shape, generator, like=mu)  # (B, latent), drawn as VAE.reparameterize draws it
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * eps  # (B, latent)
    decoder_inputs, d = [], z
    for i, layer in enumerate(decoder):
        decoder_inputs.append(d)
        d = torch.addmm(layer.bias, d, layer.weight.t())  # (B, width), the last (B, P)
        if i < len(decoder) - 1:
            d.relu_()
    logits = d  # (B, P)
    loss, bce, kl = losses.negative_elbo(logits, pixels, mu, logvar, beta)

    # Backward: every parameter's .grad is assigned (as zero_grad(set_to_none=True) then backward).
    grad = (torch.sigmoid(logits) - pixels).div_(batch)  # g_logits (B, P)
    for i in reversed(range(len(decoder))):
        if i < len(decoder) - 1:
            grad = relu_backward(grad, decoder_inputs[i + 1])  # layer i's output: layer i+1's input
        grad = linear_backward(decoder[i], decoder_inputs[i], grad)
    grad_mu = grad + (beta / batch) * mu  # g_z is grad now
    grad_logvar = grad * eps * sigma * 0.5 + (beta / (2 * batch)) * (logvar.exp() - 1)
    grad = linear_backward(posterior, h, torch.cat([grad_mu, grad_logvar], dim=1))  # g_h (B, width)
    for i in reversed(range(len(encoder))):
        output = encoder_inputs[i + 1] if i + 1 < len(encoder) else h
        grad = relu_backward(grad, output)
        grad = linear_backward(encoder[i], encoder_inputs[i], grad, need_input_grad=i > 0)
    optimizer.step()
    return {"loss": loss, "bce": bce, "kl": kl}


def step(model: VAE, x: torch.Tensor, y: torch.Tensor, ctx) -> dict[str, torch.Tensor]:
    """``vae_step_by_hand`` with the signature of a family's step (``y``, the labels, unused)."""
    return vae_step_by_hand(model, x, ctx.generator, ctx.optimizers["model"])
