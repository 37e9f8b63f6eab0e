"""What the Diffusion lab draws: the 2-D canvas (forward process, field, samples, trajectories), its
curves and numbers, the animated sampling, the image views (noised test images and the network's
clean estimate, timed samples, the reverse strip) and the formulas with their code."""

from __future__ import annotations

import inspect

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from genmodels import diffusion, losses
from genmodels.data import is_available
from genmodels.errors import GenLabError
from genmodels.i18n import N_, _
from genmodels.images import grid, rows_grid, strip
from genmodels.lessons import diffusion_images
from genmodels.lessons.diffusion_lab import DiffusionCanvas, DiffusionLab, LabQuality
from genmodels.metrics.curves import smooth
from genmodels.models.common import parameter_count
from genmodels.registry import family as family_spec
from genmodels.registry import presets_for
from genmodels.runtime import resolve_device
from genmodels.serving.jobs import start_job
from genmodels.training.steps import diffusion_loss
from genmodels.ui.gan_lab_views import FAKE_COLOUR, REAL_COLOUR
from genmodels.ui.render import dataset_missing, fold_rows, job_status_line, loss_figure
from genmodels.ui.state import (
    begin_job,
    current_job,
    live_refresh,
    model_choices,
    pick_model,
    poll_job,
    shared_dataset,
)

LAYERS = (N_("real data"), N_("data noised to t"), N_("field at t"), N_("samples"), N_("trajectories"))
NOISED_COLOUR, FIELD_COLOUR, PATH_COLOUR = "#f4a582", "#2166ac", "rgba(118,42,131,0.35)"


# --------------------------------------------------------------------------------------------
# 2-D
# --------------------------------------------------------------------------------------------


def polylines(lines):
    """(L, P, 2) -> x and y arrays with a NaN between lines (a gap), so one plotly trace draws them all."""
    padded = np.concatenate([lines.numpy(), np.full((len(lines), 1, 2), np.nan)], axis=1)  # (L, P+1, 2)
    flat = padded.reshape(-1, 2)
    return flat[:, 0], flat[:, 1]

def field_meaning(process: str) -> str:
    if process == "flow":
        return _("minus the predicted velocity: where the Euler sampler moves a point at time t")
    return _("towards the network's estimate of the clean point, (x0_hat - x) / t: along minus the predicted noise")


def canvas_figure(canvas: DiffusionCanvas, layers, height: int = 540) -> go.Figure:
    """The plane with the chosen layers: real points, the same points noised to t, the field's
    arrows at t, samples from fixed noise and the trajectories of 40 of them from noise to data."""
    figure = go.Figure()
    if "trajectories" in layers:
        xs, ys = polylines(canvas.paths.transpose(0, 1))  # (P, S + 1, 2): one line per sample
        figure.add_scatter(x=xs, y=ys, mode="lines", line={"color": PATH_COLOUR, "width": 1},
                           name=_("trajectories"), hoverinfo="skip")
    if "real data" in layers:
        figure.add_scattergl(x=canvas.real[:, 0].numpy(), y=canvas.real[:, 1].numpy(), mode="markers",
                             marker={"size": 4, "color": REAL_COLOUR, "opacity": 0.5}, name=_("real data"))
    if "data noised to t" in layers and canvas.t > 0:
        figure.add_scattergl(x=canvas.noised[:, 0].numpy(), y=canvas.noised[:, 1].numpy(), mode="markers",
                             marker={"size": 4, "color": NOISED_COLOUR, "opacity": 0.7},
                             name=_("data noised to t = {t}", t=f"{canvas.t:.2f}"))
    if "samples" in layers:
        figure.add_scattergl(x=canvas.samples[:, 0].numpy(), y=canvas.samples[:, 1].numpy(), mode="markers",
                             marker={"size": 4, "color": FAKE_COLOUR, "opacity": 0.8}, name=_("samples"))
    if "field at t" in layers:
        import torch

        segments = torch.stack([canvas.field_from, canvas.field_to], dim=1)  # (F, 2 ends, 2)
        xs, ys = polylines(segments)
        figure.add_scatter(x=xs, y=ys, mode="lines+markers", name=_("field at t"), hoverinfo="skip",
                           line={"color": FIELD_COLOUR, "width": 1},
                           marker={"symbol": "arrow", "angleref": "previous", "size": np.tile([0, 6, 0], len(segments)),
                                   "color": FIELD_COLOUR})
    span = canvas.span
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, uirevision="diffusion_lab",
                         xaxis={"range": [-span, span], "zeroline": False, "constrain": "domain"},
                         yaxis={"range": [-span, span], "scaleanchor": "x", "zeroline": False, "constrain": "domain"},
                         legend={"orientation": "h", "y": -0.06, "itemsizing": "constant"}, plot_bgcolor="white")
    return figure


def curves_figure(history: list[dict], modes: int | None, height: int = 540) -> go.Figure:
    """The loss (raw, thin; smoothed, thick) above the modes covered, against step."""
    steps = np.array([row["step"] for row in history], dtype=float)
    loss = np.array([row["loss"] for row in history], dtype=float)
    figure = go.Figure()
    figure.add_scatter(x=steps, y=loss, mode="lines", line={"color": "#1f77b4", "width": 1}, opacity=0.25,
                       showlegend=False, hoverinfo="skip")
    figure.add_scatter(x=steps, y=np.array(smooth(loss.tolist(), 0.9)), mode="lines", name=_("loss"),
                       line={"color": "#1f77b4"})
    layout = {"yaxis": {"domain": [0.42, 1.0], "title": _("loss"), "type": "log"}}
    covered = [(row["step"], row["modes"]) for row in history if row.get("modes") is not None]
    if modes is not None:
        figure.add_scatter(x=[s for s, _m in covered], y=[m for _s, m in covered], mode="lines+markers",
                           name=_("modes covered"), line={"color": "black"}, xaxis="x2", yaxis="y2")
        layout["yaxis"]["domain"] = [0.45, 1.0]
        layout |= {"yaxis2": {"domain": [0.0, 0.33], "range": [0, modes + 0.5], "title": _("modes covered")},
                   "xaxis2": {"anchor": "y2", "matches": "x", "title": _("step")}}
    else:
        layout["xaxis"] = {"title": _("step")}
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, uirevision="diffusion_curves",
                         legend={"orientation": "h", "y": -0.14}, **layout)
    return figure


def animation_figure(canvas: DiffusionCanvas, height: int = 460) -> go.Figure:
    """The samples' cloud moving from noise (t = 1) to data (t = 0), one frame per sampler time,
    with Play and a time slider (Plotly animation frames; it runs in the browser)."""
    paths = canvas.paths.numpy()  # (S + 1, P, 2)
    real = canvas.real.numpy()
    background = go.Scattergl(x=real[:, 0], y=real[:, 1], mode="markers", name=_("real data"),
                              marker={"size": 3, "color": REAL_COLOUR, "opacity": 0.25})

    def points(k: int) -> go.Scatter:
        return go.Scatter(x=paths[k, :, 0], y=paths[k, :, 1], mode="markers", name=_("samples"),
                          marker={"size": 7, "color": FAKE_COLOUR})

    labels = [f"{t:.2f}" for t in canvas.path_times]
    frames = [go.Frame(data=[background, points(k)], name=labels[k]) for k in range(len(paths))]
    play = {"type": "buttons", "x": 0, "y": -0.08, "xanchor": "left", "buttons": [
        {"label": _("Play"), "method": "animate",
         "args": [None, {"frame": {"duration": 80, "redraw": True}, "fromcurrent": False}]}]}
    slider = {"x": 0.12, "len": 0.88, "y": -0.02, "currentvalue": {"prefix": "t = "}, "steps": [
        {"label": label, "method": "animate", "args": [[label], {"mode": "immediate", "frame": {"duration": 0}}]}
        for label in labels]}
    span = canvas.span
    figure = go.Figure(data=[background, points(0)], frames=frames)
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 60}, updatemenus=[play],
                         sliders=[slider], showlegend=False, plot_bgcolor="white",
                         xaxis={"range": [-span, span], "zeroline": False, "constrain": "domain"},
                         yaxis={"range": [-span, span], "scaleanchor": "x", "zeroline": False, "constrain": "domain"})
    return figure


def show_numbers(lab: DiffusionLab, quality: LabQuality) -> None:
    """Step, loss and the GAN lab's coverage numbers for the samples on the canvas."""
    columns = st.columns(4)
    columns[0].metric(_("Step"), f"{lab.step:,}")
    if lab.history:
        recent = [row["loss"] for row in lab.history[-50:]]
        columns[1].metric(_("Loss (last 50 rows)"), f"{sum(recent) / len(recent):.3f}")
    if quality.modes is not None:
        modes = quality.modes
        columns[2].metric(_("Modes covered"), f"{modes.modes_covered} / {modes.modes}",
                          help=_("a mode counts when at least {count} of the {points} samples lie within {radius} of "
                                 "its centre (3 standard deviations), as in the 2-D GAN lab", count=modes.min_points,
                                 points=f"{modes.points:,}", radius=f"{modes.radius:g}"))
        columns[3].metric(_("Off-mode points"), f"{modes.off_mode_fraction:.0%}",
                          help=_("samples farther than {radius} from every mode", radius=f"{modes.radius:g}"))
    else:
        support = quality.support
        columns[2].metric(_("Data reached (recall)"), f"{support.recall:.0%}",
                          help=_("real points with a sample within {radius}", radius=f"{support.radius:g}"))
        columns[3].metric(_("Samples on the data (precision)"), f"{support.precision:.0%}",
                          help=_("samples within {radius} of a real point", radius=f"{support.radius:g}"))
    if lab.first_full_coverage is not None:
        step, seconds = lab.first_full_coverage
        st.caption(_("All modes first covered at step {step}, after {seconds} s of training.", step=f"{step:,}",
                     seconds=f"{seconds:.1f}"))


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------

def noising_view(model, images, t: float, seed: int) -> None:
    """Test images, the same images noised to t, and the network's estimate of the clean images."""
    shown = diffusion_images.noise_and_estimate(model, images, t, seed)
    st.image(grid(shown.clean, columns=len(images), scale=3), caption=_("test images (x_0)"))
    st.image(grid(shown.noisy, columns=len(images), scale=3), caption=_("noised to t = {t} (x_t)", t=f"{t:.2f}"))
    st.image(grid(shown.estimate, columns=len(images), scale=3),
             caption=_("the network's estimate of x_0 from x_t alone (x0_hat)"))


def samples_view(model, steps: int, sampler: str, seed: int, count: int = 16) -> None:
    result = diffusion_images.timed_samples(model, count, steps, sampler, seed)
    st.image(grid(result.images, columns=16, scale=2))
    st.caption(_("{count} samples, {steps} steps of {sampler} ({evaluations} network evaluations each) in {seconds} s: "
                 "{per_image} ms per image on this machine, measured now.", count=count, steps=steps,
                 sampler=_(diffusion.SAMPLER_TITLES[sampler]), evaluations=result.evaluations,
                 seconds=f"{result.seconds:.2f}", per_image=f"{1000 * result.seconds / count:.1f}"))


def reverse_view(model, steps: int, sampler: str, seed: int, frames: int = 11) -> None:
    shown = diffusion_images.reverse_strip(model, steps, sampler, seed, frames)
    st.image(strip([shown.images], scale=3))
    st.caption(_("From noise (left, t = 1) to a picture (right, t = 0): the sampler's state at t = {times}.",
                 times=", ".join(f"{t:.2f}" for t in shown.times)))


# --------------------------------------------------------------------------------------------
# The maths, with its code
# --------------------------------------------------------------------------------------------

# The three parts of each family's explanation: words, the formula, the function that computes it.
EXPLANATIONS = {
    "ddpm": (
        (N_("**Forward process.** T = 1000 small Gaussian steps blur the data into noise. Their composition has a "
            "closed form, so training jumps to any step i in one draw:"),
         r"q(x_i \mid x_0) = \mathcal{N}\big(\sqrt{\bar\alpha_i}\,x_0,\ (1-\bar\alpha_i) I\big),\quad "
         r"x_i = \sqrt{\bar\alpha_i}\,x_0 + \sqrt{1-\bar\alpha_i}\,\epsilon", diffusion.ddpm_marginal),
        (N_("**Objective.** The network sees x_i and i and predicts the noise that was added:"),
         r"L_\text{simple} = \mathbb{E}_{x_0, i, \epsilon}\,\lVert \epsilon - \epsilon_\theta(x_i, i) \rVert^2",
         losses.noise_prediction_loss),
        (N_("**One sampler step** from x_i back to x_j: estimate x_0, then move to step j. eta = 1 is DDPM's random "
            "ancestral step, eta = 0 DDIM's deterministic one:"),
         r"\hat x_0 = \frac{x_i - \sqrt{1-\bar\alpha_i}\,\hat\epsilon}{\sqrt{\bar\alpha_i}},\quad "
         r"x_j = \sqrt{\bar\alpha_j}\,\hat x_0 + \sqrt{1-\bar\alpha_j-\sigma^2}\,\hat\epsilon + \sigma z",
         diffusion.ddim_step),
    ),
    "flow": (
        (N_("**Forward process.** A straight line from each data point to its own noise:"),
         r"x_t = (1-t)\,x_0 + t\,\epsilon,\qquad \frac{dx_t}{dt} = \epsilon - x_0", diffusion.flow_path),
        (N_("**Objective.** The network sees x_t and t and predicts the velocity of the path:"),
         r"L_\text{CFM} = \mathbb{E}_{x_0, \epsilon, t}\,\lVert (\epsilon - x_0) - v_\theta(x_t, t) \rVert^2",
         losses.flow_matching_loss),
        (N_("**One sampler step** follows the learned velocity back in time (dt < 0); Heun averages the velocity "
            "at both ends of the step:"),
         r"x_{t+dt} = x_t + dt\, v_\theta(x_t, t)", diffusion.sample_flow),
    ),
}


def explain(process: str) -> None:
    """The forward process, the training objective and one sampler step of the chosen family."""
    with st.expander(_("How it works: the forward process, the objective, one sampler step")):
        for words, formula, function in EXPLANATIONS[process]:
            st.markdown(_(words))
            st.latex(formula)
            st.code(inspect.getsource(function), language="python")
        st.markdown(_("Both families train with the same step; only the pair of noisy input and target differs:"))
        st.code(inspect.getsource(diffusion_loss) + "\n\n" + inspect.getsource(diffusion.training_pair),
                language="python")


# --------------------------------------------------------------------------------------------
# The image half of the page
# --------------------------------------------------------------------------------------------

SAMPLING_STEPS = (1, 2, 5, 10, 25, 50, 100, 250, 1000)


def image_lesson() -> None:
    """A shipped or session image model: noising and the clean estimate, timed samples, the reverse
    strip; then a live run from a preset."""
    choices = [c for c in model_choices(diffusion.PROCESSES) if c.info.model_config.data == "image"]
    if not choices:
        st.info(_("No image diffusion or flow model is available yet: train one below, it appears here when it "
                  "finishes."))
    else:
        choice = pick_model(_("Model"), choices, "dl_model", prefer=lambda c: c.name == "ddpm-fashion")
        model, info = choice.model, choice.info
        cfg = model.config
        st.caption(_("{name}: {family}, a U-Net with {parameters} weights, trained on {dataset}", name=info.name,
                     family=_(family_spec(cfg.process).title), parameters=f"{parameter_count(model):,}",
                     dataset=info.dataset or _("unknown data")))
        data = shared_dataset(info.dataset, "cpu") if info.dataset and is_available(info.dataset) else None
        st.subheader(_("Noise, and the network's guess of the picture"))
        t = st.slider(_("Time t (0 = picture, 1 = noise)"), 0.0, 1.0, 0.5, 0.01, key="dl_image_t")
        if data is None:
            dataset_missing(info.dataset, _("The noising view needs its test images."))
        else:
            noising_view(model, data.test_x[:8], t, seed=0)
        st.subheader(_("Samples"))
        steps_column, sampler_column, seed_column = st.columns(3)
        steps = steps_column.select_slider(_("Sampling steps"), SAMPLING_STEPS, value=cfg.sample_steps,
                                           key="dl_image_steps")
        samplers = diffusion.SAMPLERS[cfg.process]
        sampler = sampler_column.selectbox(_("Sampler"), samplers, index=samplers.index(cfg.sampler),
                                           format_func=lambda s: _(diffusion.SAMPLER_TITLES[s]), key="dl_image_sampler")
        seed = int(seed_column.number_input(_("Seed"), 0, 2**31 - 1, 0, key="dl_image_seed"))
        samples_view(model, steps, sampler, seed)
        st.subheader(_("The reverse process, step by step"))
        reverse_view(model, steps, sampler, seed)
    train_live()


def train_live() -> None:
    """Train a ddpm or flow image model from a preset, as a background job, and watch its samples."""
    st.subheader(_("Train one live"))
    presets = presets_for("diffusion")
    with st.form("dl_train"):
        left, right = st.columns(2)
        family = left.radio(_("Family"), diffusion.PROCESSES, key="dl_train_family", horizontal=True,
                            format_func=lambda p: _(family_spec(p).title))
        preset_name = right.selectbox(_("Preset"), list(presets), format_func=lambda k: _(presets[k].title),
                                      key="dl_train_preset")
        name = left.text_input(_("Name for the trained model"), "my-diffusion", max_chars=40, key="dl_train_name")
        started = st.form_submit_button(_("Start training"), type="primary")
    for preset in presets.values():
        st.caption(f"**{_(preset.title)}**: {_(preset.note)}")
    if started:
        job = current_job()
        if job is not None and job.active:
            st.warning(_("This session is already training. Stop that run first (sidebar), then start again."))
        else:
            preset = presets[preset_name]
            try:
                device = str(resolve_device("auto"))
                begin_job(start_job(family, shared_dataset(preset.dataset, device), preset.train,
                                    name=name.strip() or family, **preset.model))
            except GenLabError as error:
                st.error(_("Could not start: {error}", error=error))
    live_run()


@st.fragment(run_every=live_refresh())
def live_run() -> None:
    job, view = poll_job()
    if job is None or view.family not in diffusion.PROCESSES or job.dataset.kind != "image":
        st.info(_("No image diffusion run in this session yet: pick a preset and press **Start training**."))
        return
    st.markdown(job_status_line(view))
    st.progress(view.progress)
    if view.state == "failed":
        st.error(view.message)
    curves, pictures = st.columns([3, 2])
    with curves:
        if view.history:
            st.plotly_chart(loss_figure(view, only=("loss",), y_title=_("loss")), key="dl_train_loss")
    with pictures:
        if view.snapshots:
            shot = view.snapshots[-1]
            st.image(rows_grid(fold_rows(shot.images), scale=3), width="stretch",
                     caption=_("samples from the same fixed noise, step {step}", step=shot.step))
