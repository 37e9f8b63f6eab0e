"""The weights' moving average (training/averaging.py) and the loop's use of it (config.ema)."""

import copy
from dataclasses import replace

import pytest
import torch

from genmodels import registry
from genmodels.configs import TrainConfig
from genmodels.errors import ConfigError
from genmodels.training import loop
from genmodels.training.averaging import WeightAverage
from genmodels.training.loop import EpochEnd, Snapshot, Step

from .conftest import tiny_config


def test_the_average_follows_the_formula_with_its_warm_up():
    model = torch.nn.Linear(3, 2)
    start = [p.detach().clone() for p in model.parameters()]
    average = WeightAverage(model, decay=0.99)
    expected = start
    for k in range(1, 40):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        average.update(model)
        d = min(0.99, (1 + k) / (10 + k))
        expected = [d * e + (1 - d) * p.detach() for e, p in zip(expected, model.parameters())]
    for got, want in zip(average.average, expected):
        torch.testing.assert_close(got, want)
    # the warm-up: after 40 updates the start weighs prod d_k, far less than 0.99^40 = 0.67
    weight_of_start = torch.tensor([min(0.99, (1 + k) / (10 + k)) for k in range(1, 40)]).prod()
    assert weight_of_start < 0.25


def test_applied_lends_the_average_and_gives_the_weights_back():
    model = torch.nn.Linear(3, 2)
    average = WeightAverage(model, decay=0.9)
    with torch.no_grad():
        model.weight.add_(1.0)
    own = copy.deepcopy(model.state_dict())
    with average.applied(model):
        torch.testing.assert_close(model.weight, average.average[0])
        assert not torch.equal(model.weight, own["weight"])
    for name, value in model.state_dict().items():
        assert torch.equal(value, own[name])


def test_a_run_with_ema_ends_holding_the_average_of_its_steps_and_evaluates_it(sprites_small):
    spec = registry.family("ddpm")
    model = registry.build_model(spec, tiny_config("ddpm", sprites_small), seed=0)
    config = TrainConfig(epochs=1, max_steps=12, batch_size=32, lr=3e-3, log_every=1, snapshot_every=6,
                         device="cpu", seed=1, ema=0.9)
    expected = [p.detach().clone() for p in model.parameters()]
    events = []
    for event in loop.train(spec, model, sprites_small, config):
        events.append(event)
        if isinstance(event, Step):  # between steps the model holds the weights it trains
            d = min(0.9, (1 + event.step) / (10 + event.step))
            expected = [d * e + (1 - d) * p.detach() for e, p in zip(expected, model.parameters())]
            last_step_weights = [p.detach().clone() for p in model.parameters()]
    for got, want in zip(model.parameters(), expected):
        torch.testing.assert_close(got.detach(), want)
    assert any(not torch.equal(a, b.detach()) for a, b in zip(last_step_weights, model.parameters()))
    assert [e.step for e in events if isinstance(e, Snapshot)] == [6, 12]

    # without ema the same steps end on the last step's weights, and the evaluation differs
    plain = registry.build_model(spec, tiny_config("ddpm", sprites_small), seed=0)
    plain_events = list(loop.train(spec, plain, sprites_small, replace(config, ema=0.0)))
    assert [e.terms for e in plain_events if isinstance(e, Step)] == [e.terms for e in events if isinstance(e, Step)]
    for a, b in zip(plain.parameters(), last_step_weights):
        torch.testing.assert_close(a.detach(), b)
    tests = [[e.test for e in run if isinstance(e, EpochEnd)] for run in (plain_events, events)]
    assert tests[0] != tests[1]


def test_ema_out_of_range_is_refused_with_its_range():
    with pytest.raises(ConfigError, match="ema"):
        TrainConfig(ema=1.0)
    assert TrainConfig(ema=0.0).ema == 0.0
