"""The 2-D GAN lab: a GAN on a toy point cloud, stepped by hand or a few hundred steps at a time.

In the spirit of GAN Lab (Kahng et al., "GAN Lab: Understanding Complex Deep Generative Models
using Interactive Visual Experimentation", 2018), but computed on the server. A ``GANLab`` holds
one session's experiment: the ``gan`` family's model on 2-D points (registry.gan_default's shape,
with the lab's widths), its two Adam optimizers (registry.gan_adams), a seeded noise generator, the
toy dataset, a step counter and a loss history. It trains with training/steps.py's own step functions
(``gan_step``, or ``discriminator_step`` / ``generator_step`` alone), so the lab shows exactly the
two-phase update that the Train page runs.

What a page draws comes back as named results: ``Canvas`` (real points, generated points from a
fixed noise sample, the discriminator's decision surface on a grid, the generator's image of a
noise grid, and the direction G's loss pushes each fake), ``Quality`` (mode coverage on the ring
and the grid; point-cloud precision and recall on the moons and the spiral) and a ``Diagnosis``
(gan_diagnosis.py, the one diagnosis of the GAN studio and this lab).

Everything runs on the CPU in one thread: these networks have a few thousand weights, and for
matrices this small a second thread only adds synchronisation (on a busy 2-core server, two
threads per step were 20 to 100 times slower than one; see ``one_thread``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import torch

from genmodels import registry, runtime
from genmodels.configs import check_int
from genmodels.data import Dataset, load_dataset
from genmodels.errors import ConfigError, TrainingDiverged
from genmodels.i18n import L_
from genmodels.lessons.gan_diagnosis import Diagnosis, Quality, diagnose_points
from genmodels.lessons.gan_lab_settings import LIVE_SETTINGS, LabConfig
from genmodels.metrics.coverage import mode_coverage, support_coverage
from genmodels.training.steps import StepContext, discriminator_step, gan_loss_functions, gan_step, generator_step

SHOWN_POINTS = 1000  # real and generated points drawn (and measured for coverage)
SURFACE_CELLS = 60  # the decision surface is sampled on a 60 x 60 grid
NOISE_TICKS = 9  # noise-grid lines per direction
ARROWS = 150  # generated points that get a gradient arrow
MAX_HISTORY = 2000  # history rows kept; beyond that, neighbours are averaged (see GANLab.record)
COVERAGE_EVERY = 50  # steps between coverage measurements kept in the history




# --------------------------------------------------------------------------------------------
# What a page draws
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Canvas:
    """The layers of the lab's picture at one step. Coordinates are data space, tensors on the CPU."""

    step: int
    span: float  # the canvas shows [-span, span]^2
    real: torch.Tensor  # (N, 2) training points
    generated: torch.Tensor  # (N, 2) G(z) for a fixed noise sample, the same z at every step
    surface_axis: torch.Tensor  # (S,) grid coordinates, the same for x and y
    surface: torch.Tensor  # (S, S) D's verdict in [0, 1] at (x=axis[j], y=axis[i]); 1 = "real"
    surface_meaning: str  # what ``surface`` is, in words (a lazy text, L_)
    noise_lines: torch.Tensor  # (L, P, 2) G's image of L straight lines of the noise grid
    noise_plane: str  # which plane of the noise space the lines come from, in words
    arrows_from: torch.Tensor  # (A, 2) generated points...
    arrows_to: torch.Tensor  # (A, 2) ...and where G's loss gradient pushes them (scaled for display)


def mode_radius(dataset: Dataset) -> float:
    """Near a mode: within 3 standard deviations of its centre (98.9% of a 2-D Gaussian's mass)."""
    return 3 * dataset.mode_std


SUPPORT_RADIUS = 0.15  # "near the data" for moons and spiral: 3 x the ring's mode std, same scale


def canvas_span(dataset: Dataset) -> float:
    """Half the side of the square canvas: the data's extent plus a margin, at least 3."""
    return max(3.0, math.ceil(1.25 * dataset.train_x.abs().max().item() * 2) / 2)


def lab_dataset(name: str, dataset: Dataset | None) -> Dataset:
    """A 2-D lab's toy on the CPU: ``dataset`` when given (a shared read-only copy: a lab only
    indexes it), else generated from its name."""
    if dataset is not None and dataset.name != name:
        raise ConfigError(L_("the lab is set to {dataset}, but was given {given}", dataset=name, given=dataset.name))
    return (dataset if dataset is not None else load_dataset(name)).to("cpu")


@contextlib.contextmanager
def one_thread():
    """Run torch in one CPU thread for the enclosed work, then restore the thread count.

    Small matrix products gain nothing from a second thread, and when the cores are busy (a class on
    one server) the threads spin waiting for each other: on a loaded 2-core machine a 256 x 128 x
    128 matmul took 4.6 ms with two threads and 0.23 ms with one.

    torch.set_num_threads sets the calling thread's OpenMP and MKL thread counts, which are
    thread-local, but also the process-wide default that threads started later pick up (a training
    job started meanwhile would run on one thread for good). So a helper thread puts that default
    back at once: this thread keeps its one thread, everyone else keeps theirs.

    It also flushes denormals in this thread (``runtime.flush_denormals``): the lab trains in
    Streamlit's script threads, which never do otherwise."""
    runtime.flush_denormals()
    before = torch.get_num_threads()  # (also settles this thread's own count first)
    if before != 1:
        torch.set_num_threads(1)
        helper = threading.Thread(target=torch.set_num_threads, args=(before,), name="restore-torch-threads")
        helper.start()
        helper.join()
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)


# --------------------------------------------------------------------------------------------
# The session object
# --------------------------------------------------------------------------------------------

class GANLab:
    """One interactive 2-D GAN experiment, driven by one page session.

    Streamlit can start a new run of a session's script while the last one is still inside
    ``train`` (a click on Pause reruns the page at once), so the lab's methods take turns on
    ``lock``, and ``train`` asks ``keep_going`` before each step: a Pause or Reset ends the old
    run's training at its next step, instead of after it has trained on under the new run's feet.

    ``dataset`` may be passed in (a shared read-only copy; the lab only indexes it), else it is
    generated from ``config.dataset``."""

    def __init__(self, config: LabConfig, dataset: Dataset | None = None):
        self.dataset = lab_dataset(config.dataset, dataset)
        self.config = config
        self.span = canvas_span(self.dataset)
        self.lock = threading.RLock()
        self.reset()

    # --- building and resetting ---

    def reset(self) -> None:
        """A fresh model from the config's seed: the same seed gives the same start and the same run."""
        with self.lock:
            self._build()

    def _build(self) -> None:
        config, spec, device = self.config, registry.family("gan"), torch.device("cpu")
        self.model = registry.build_model(spec, config.model_config(), seed=config.seed)
        self.model.train()
        self.optimizers = registry.gan_adams(self.model, config.train_config(), device)
        # One generator for everything random during training: real batches and G's noise.
        self.generator = torch.Generator().manual_seed(config.seed + 1)
        self.context = StepContext(device=device, generator=self.generator, optimizers=self.optimizers)
        fixed = torch.Generator().manual_seed(config.seed + 2)
        self.fixed_noise = torch.randn((SHOWN_POINTS, config.latent_dim), generator=fixed)  # (N, latent)
        self.shown_real = self.dataset.train_x[:SHOWN_POINTS]  # (N, 2); the toys are already shuffled
        self.step = 0  # actions taken: each D+G step, D-only step or G-only step counts one
        self.d_updates = 0
        self.g_updates = 0
        self.train_seconds = 0.0  # wall clock spent inside training steps
        self.history: list[dict] = []  # rows, see record()
        self.history_stride = 1  # steps per history row (doubles each time the history is thinned)
        self._pending: list[dict] = []  # rows not yet averaged into one history row
        self.coverage_log: deque[tuple[int, frozenset[int]]] = deque(maxlen=40)  # (step, covered modes)
        self.first_full_coverage: tuple[int, float] | None = None  # (step, train seconds)

    def retune(self, **changes) -> None:
        """Change learning rates or D steps without a new model (Adam keeps its moments).
        Any other setting raises: it needs ``GANLab(new_config)``."""
        others = sorted(set(changes) - set(LIVE_SETTINGS))
        if others:
            raise ConfigError(L_("{settings} can only change with a new model; live: {live}",
                                 settings=", ".join(others), live=", ".join(LIVE_SETTINGS)))
        with self.lock:
            self.config = dataclasses.replace(self.config, **changes)  # validates
            for group in self.optimizers["generator"].param_groups:
                group["lr"] = self.config.lr_g
            for group in self.optimizers["discriminator"].param_groups:
                group["lr"] = self.config.lr_d
            self.model.config = dataclasses.replace(self.model.config, d_steps=self.config.d_steps)  # gan_step reads

    # --- training ---

    def real_batch(self) -> torch.Tensor:
        """A batch of real points, drawn with replacement: (batch_size, 2) in data space."""
        index = torch.randint(0, len(self.dataset.train_x), (self.config.batch_size,), generator=self.generator)
        return self.dataset.train_x[index]

    def train(self, steps: int, max_seconds: float | None = None, keep_going: Callable[[], bool] | None = None) -> int:
        """Up to ``steps`` D+G steps (``d_steps`` D updates, then one G update: gan_step),
        stopping early after ``max_seconds`` of wall clock or when ``keep_going()`` says no (it is
        asked before every step). Returns the steps taken. Raises TrainingDiverged (with advice) if
        a loss becomes NaN or infinite."""
        check_int("steps", steps, 0, 1_000_000)
        began, done = time.monotonic(), 0
        with self.lock, one_thread():
            while done < steps and (keep_going is None or keep_going()):
                step_began = time.monotonic()
                terms = gan_step(self.model, self.real_batch(), None, self.context)
                self.d_updates += self.config.d_steps
                self.g_updates += 1
                done += 1
                self._after_step(terms, step_began)
                if max_seconds is not None and time.monotonic() - began >= max_seconds:
                    break
        return done

    def step_discriminator(self) -> dict[str, float]:
        """One update of D alone (discriminator_step): G does not move."""
        began = time.monotonic()
        with self.lock, one_thread():
            terms = discriminator_step(self.model, self.model.to_model_space(self.real_batch()), self.context)
            self.d_updates += 1
            return self._after_step(terms, began)

    def step_generator(self) -> dict[str, float]:
        """One update of G alone (generator_step) through the current, frozen D."""
        began = time.monotonic()
        with self.lock, one_thread():
            terms = generator_step(self.model, self.config.batch_size, self.context)
            self.g_updates += 1
            return self._after_step(terms, began)

    def _after_step(self, terms: dict[str, torch.Tensor], began: float) -> dict[str, float]:
        values = dict(zip(terms, torch.stack(list(terms.values())).float().tolist()))
        bad = [name for name, value in values.items() if not math.isfinite(value)]
        if bad:
            raise TrainingDiverged(L_(
                "training diverged at step {step}: {terms} became NaN or infinite. Lower the learning rates (a step or "
                "two down the ladder) and press Reset.", step=self.step + 1, terms=", ".join(bad)))
        self.step += 1
        row = {"step": self.step, **values}
        if self.step % COVERAGE_EVERY == 0 and self.dataset.modes is not None:
            row["modes"] = self._measure_modes()
        self.train_seconds += time.monotonic() - began
        row["seconds"] = self.train_seconds
        self.record(row)
        return values

    def _measure_modes(self) -> int:
        coverage = mode_coverage(self.generate(), self.dataset.modes, mode_radius(self.dataset))
        covered = frozenset(i for i, c in enumerate(coverage.covered) if c)
        self.coverage_log.append((self.step, covered))
        if self.first_full_coverage is None and coverage.modes_covered == coverage.modes:
            self.first_full_coverage = (self.step, self.train_seconds)
        return coverage.modes_covered

    def record(self, row: dict) -> None:
        """Keep a bounded history: rows of ``history_stride`` steps averaged. When it reaches
        MAX_HISTORY rows, neighbouring rows are averaged in pairs and the stride doubles, so the
        whole run stays on the chart at an even resolution. Missing terms (a D-only step has no
        G loss) are None and do not enter averages."""
        self._pending.append(row)
        if len(self._pending) < self.history_stride:
            return
        self.history.append(average_rows(self._pending))
        self._pending = []
        if len(self.history) >= MAX_HISTORY:  # an even number: whole pairs, so every row spans the same steps
            self.history = [average_rows(self.history[i:i + 2]) for i in range(0, len(self.history), 2)]
            self.history_stride *= 2

    # --- what a page shows ---

    @torch.no_grad()
    def generate(self, z: torch.Tensor | None = None) -> torch.Tensor:
        """G(z) in data space for the fixed noise sample (or ``z``): (N, 2)."""
        with one_thread():
            return self.model.decode(self.fixed_noise if z is None else z).float()

    @torch.no_grad()
    def verdict(self, points: torch.Tensor) -> torch.Tensor:
        """D's verdict on points (N, 2), in [0, 1], 1 = "real". Non-saturating: sigmoid(logit), the
        probability D gives to "real". Least squares: D's raw output (trained towards 1 on real,
        0 on fake), clipped to [0, 1]."""
        with one_thread():
            output = self.model.discriminate(self.model.to_model_space(points)).float()
        return output.clamp(0, 1) if self.config.loss == "least_squares" else torch.sigmoid(output)

    def canvas(self) -> Canvas:
        with self.lock:  # one model state throughout (and no update under gradient_arrows' autograd)
            return self._canvas()

    def _canvas(self) -> Canvas:
        axis = torch.linspace(-self.span, self.span, SURFACE_CELLS)  # (S,)
        gy, gx = torch.meshgrid(axis, axis, indexing="ij")  # (S, S) each; rows follow y
        surface = self.verdict(torch.stack([gx.flatten(), gy.flatten()], dim=1)).reshape(SURFACE_CELLS, SURFACE_CELLS)
        generated = self.generate()
        lines, plane = self.noise_grid()
        arrows_from, arrows_to = self.gradient_arrows(generated[:ARROWS])
        meaning = (L_("D's output (trained towards 1 on real, 0 on fake), clipped to [0, 1]")
                   if self.config.loss == "least_squares" else
                   L_("D(x) = sigmoid(logit), the probability D gives to real"))
        return Canvas(step=self.step, span=self.span, real=self.shown_real, generated=generated,
                      surface_axis=axis, surface=surface, surface_meaning=meaning, noise_lines=lines,
                      noise_plane=plane, arrows_from=arrows_from, arrows_to=arrows_to)

    def noise_grid(self) -> tuple[torch.Tensor, str]:
        """G's image of straight lines in the noise space: (L, P, 2) and a description of the plane.

        With 1 latent dimension: one line, z from -3 to 3. Otherwise, a 9 x 9 grid on [-2, 2]^2 in
        the plane of z1 and z2 with every other dimension held at 0 (the mean of the noise)."""
        dims, fine = self.config.latent_dim, torch.linspace(-2, 2, 41)  # (P,)
        if dims == 1:
            z = torch.linspace(-3, 3, 81).reshape(1, 81, 1)  # (1, P, 1)
            plane = L_("the whole 1-D noise space, z from -3 to 3")
        else:
            ticks = torch.linspace(-2, 2, NOISE_TICKS)  # (T,)
            u_lines = torch.stack([ticks.view(-1, 1).expand(-1, len(fine)), fine.expand(len(ticks), -1)], dim=2)
            v_lines = u_lines.flip(2)  # the same lines with z1 and z2 swapped: (T, P, 2) each
            plane2 = torch.cat([u_lines, v_lines])  # (2T, P, 2)
            z = torch.zeros(*plane2.shape[:2], dims)  # (L, P, latent)
            z[..., :2] = plane2
            plane = (L_("the whole 2-D noise space, [-2, 2]^2") if dims == 2 else
                     L_("the plane of z1 and z2 in the {dims}-D noise space, the other {others} dimensions held at 0",
                        dims=dims, others=dims - 2))
        lines = self.generate(z.reshape(-1, dims)).reshape(*z.shape[:2], 2)  # (L, P, 2)
        return lines, plane

    def gradient_arrows(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Where G's loss pushes each generated point: minus the gradient of the generator loss with
        respect to the point (through the current D), scaled for display so that the 90th-percentile
        push is 0.3 long, and capped at 0.5 (one outlier must not shrink every other arrow to a dot)."""
        _, g_loss_fn = gan_loss_functions(self.model)
        x = self.model.to_model_space(points.detach()).requires_grad_(True)  # (A, 2)
        with torch.enable_grad(), one_thread():
            (gradient,) = torch.autograd.grad(g_loss_fn(self.model.discriminate(x)), x)  # no weight grads
        push = -gradient  # (A, 2)
        length = push.norm(dim=1, keepdim=True)  # (A, 1)
        typical = torch.quantile(length, 0.9)
        if typical > 0:
            scaled = (length * (0.3 / typical)).clamp(max=0.5)
            push = push / length.clamp_min(1e-12) * scaled
        return points, points + push

    def quality(self) -> Quality:
        """Mode coverage on ring and grid; precision and recall against the shown real points otherwise."""
        with self.lock:
            generated = self.generate()
        spread = (generated.std(dim=0).norm() / self.shown_real.std(dim=0).norm()).item()
        with one_thread():
            if self.dataset.modes is not None:
                return Quality(modes=mode_coverage(generated, self.dataset.modes, mode_radius(self.dataset)),
                               support=None, spread=spread)
            return Quality(modes=None, support=support_coverage(generated, self.shown_real, SUPPORT_RADIUS),
                           spread=spread)

    def recent_verdicts(self, steps: int = 200) -> tuple[float, float] | None:
        """D's mean verdict on real and on fake points over the last ``steps`` steps, on the scale of
        the canvas's surface (see ``verdict``), or None before any D step. The trainer logs
        sigmoid(output) for both losses; for least squares this turns it back into D's output
        (logit of the mean: exact for a constant output, close for a concentrated one)."""
        real, fake = last_steps(self.history, "d_real", steps), last_steps(self.history, "d_fake", steps)
        if not real or not fake:
            return None
        means = [sum(values) / len(values) for values in (real, fake)]
        if self.config.loss == "least_squares":
            means = [min(max(math.log(p / (1 - p)), 0.0), 1.0) if 0 < p < 1 else float(p >= 1) for p in means]
        return means[0], means[1]

    def diagnose(self, quality: Quality | None = None) -> Diagnosis:
        """What the recent steps look like, in plain words (gan_diagnosis.diagnose_points)."""
        quality = quality or self.quality()
        seen = set().union(*(covered for _, covered in self.coverage_log)) if self.coverage_log else set()
        return diagnose_points(self.step, quality, self.recent_verdicts(), len(seen))


def average_rows(rows: list[dict]) -> dict:
    """One row from several: the last step and seconds, the mean of each term that is present."""
    merged = {"step": rows[-1]["step"], "seconds": rows[-1]["seconds"]}
    keys = [k for k in rows[0] if k not in merged] + [k for r in rows[1:] for k in r if k not in rows[0]]
    for key in dict.fromkeys(keys):
        values = [r[key] for r in rows if r.get(key) is not None]
        merged[key] = sum(values) / len(values) if values else None
    return merged


def last_steps(history: list[dict], key: str, steps: int = 200) -> list[float]:
    """The values of ``key`` over (about) the last ``steps`` steps of the history."""
    if not history:
        return []
    last = history[-1]["step"]
    return [row[key] for row in history if row["step"] > last - steps and row.get(key) is not None]
