"""The MLP VAE's hand-written backward pass (the CPU fast path) against autograd."""

import copy

import pytest
import torch

from genmodels import losses, registry
from genmodels.models.vae import VAE, VAEConfig
from genmodels.training.fast import vae_by_hand
from genmodels.training.optim import adam
from genmodels.training.steps import StepContext, vae_step


def autograd_reference(model: VAE, x: torch.Tensor, seed: int):
    """Loss terms and gradients through the model's own forward pass and autograd."""
    model.zero_grad(set_to_none=True)
    out = model(x, generator=torch.Generator().manual_seed(seed))
    loss, bce, kl = losses.negative_elbo(out.logits, x, out.mu, out.logvar, model.config.beta)
    loss.backward()
    return [loss, bce, kl], {name: p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("config, batch", [
    (VAEConfig(hidden=(400,), latent_dim=20), 128),  # the classic VAE
    (VAEConfig(hidden=(64, 32), latent_dim=2, beta=4.0), 7),  # a 2-D code, a beta-VAE, an odd batch
    (VAEConfig(hidden=(32, 32, 16, 8), latent_dim=3, beta=0.0), 1),  # four layers, no KL, one image
    (VAEConfig(channels=3, image_size=32, hidden=(48, 24, 12), latent_dim=3, beta=0.5), 16),  # colour
])
def test_the_gradients_and_loss_terms_match_autograd(config, batch):
    model = VAE(config, generator=torch.Generator().manual_seed(0))
    x = torch.rand((batch, config.channels, config.image_size, config.image_size),
                   generator=torch.Generator().manual_seed(1))
    x[:, :, :2] = 0  # always-black rows, as on Fashion-MNIST's border: dead inputs and units
    expected_terms, expected_grads = autograd_reference(model, x, seed=2)

    by_hand = copy.deepcopy(model)
    standing_still = torch.optim.SGD(by_hand.parameters(), lr=0.0)  # keeps the gradients to compare
    terms = vae_by_hand.vae_step_by_hand(by_hand, x, torch.Generator().manual_seed(2), standing_still)

    for value, expected in zip(terms.values(), expected_terms):
        assert torch.allclose(value, expected, rtol=1e-5)
    for name, p in by_hand.named_parameters():
        scale = expected_grads[name].abs().max()
        assert torch.allclose(p.grad, expected_grads[name], rtol=1e-4, atol=1e-5 * scale), name


def test_training_by_hand_follows_autograd_step_for_step(sprites_small):
    """20 Adam steps of the trainer's CPU path against the same steps through autograd."""
    spec = registry.family("vae")
    config = registry.model_config(spec, sprites_small, hidden=(64,), latent_dim=4)
    model = registry.build_model(spec, config, seed=0)
    twin = copy.deepcopy(model)
    cpu = torch.device("cpu")
    optimizer = adam(model.parameters(), 1e-3, cpu)
    twin_optimizer = adam(twin.parameters(), 1e-3, cpu)
    ctx = StepContext(device=cpu, generator=torch.Generator().manual_seed(5),
                               optimizers={"model": optimizer})
    twin_generator = torch.Generator().manual_seed(5)
    assert vae_by_hand.applies(model, cpu)
    for step in range(20):
        x = sprites_small.train_x[step * 16:(step + 1) * 16]
        terms = vae_step(model, x, None, ctx)
        twin_optimizer.zero_grad(set_to_none=True)
        out = twin(x, generator=twin_generator)
        twin_loss, _, _ = losses.negative_elbo(out.logits, x, out.mu, out.logvar, twin.config.beta)
        twin_loss.backward()
        twin_optimizer.step()
        assert torch.allclose(terms["loss"], twin_loss.detach(), rtol=1e-4)
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.allclose(p, q, atol=1e-5)


def test_only_plain_mlp_vaes_on_the_cpu_take_the_path():
    cpu = torch.device("cpu")
    mlp = VAE(VAEConfig(hidden=(32,), latent_dim=2))
    assert vae_by_hand.applies(mlp, cpu)
    assert not vae_by_hand.applies(mlp, torch.device("cuda"))  # bf16 autocast there
    assert not vae_by_hand.applies(VAE(VAEConfig(arch="conv", hidden=(8, 16), latent_dim=2)), cpu)
    assert not vae_by_hand.applies(copy.deepcopy(mlp).double(), cpu)


def variant(change):
    model = VAE(VAEConfig(hidden=(32,), latent_dim=2))
    change(model)
    return model


@pytest.mark.parametrize("change", [
    lambda m: m.encoder.requires_grad_(False),  # frozen: no gradient wanted
    lambda m: m.decoder.compile(),  # compiled for this run
    lambda m: torch.nn.utils.parametrizations.weight_norm(m.decoder[0][0]),  # its weight is computed
    lambda m: setattr(m.decoder[0][0], "bias", m.encoder[1][0].bias),  # tied: two layers, one tensor
    lambda m: m.decoder.register_forward_hook(lambda module, inputs, output: None),
    lambda m: m.to_posterior.weight.register_hook(lambda grad: grad * 2),
], ids=["frozen", "compiled", "weight-norm", "tied", "forward-hook", "gradient-hook"])
def test_models_the_written_out_pass_would_get_wrong_go_through_autograd(change):
    assert not vae_by_hand.applies(variant(change), torch.device("cpu"))
