"""What the Diffusion lab draws: the 2-D canvas (forward process, field, samples, trajectories), its
curves and numbers, the animated sampling, the image views (noised test images and the network's
clean estimate, timed samples, the reverse strip) and the formulas with their code."""

from __future__ import annotations

import inspect

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

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
from genmodels.ui.gan_lab_views import FAKE_COLOUR, REAL_COLOUR, frame_table
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


def field_meaning(process: str) -> str:
    if process == "flow":
        return _("minus the predicted velocity: where the Euler sampler moves a point at time t")
    return _("towards the network's estimate of the clean point, (x0_hat - x) / t: along minus the predicted noise")


# The live canvas and curves are Vega-Lite specs whose structure stays the same from frame to frame
# (only their datasets change): Streamlit then updates the drawn chart in place. A Plotly chart was
# mounted anew whenever its figure changed and showed blank until drawn (as in the 2-D GAN lab).

def canvas_spec(canvas: DiffusionCanvas, layers, size: int = 460) -> dict:
    """The plane with the chosen layers: real points, the same points noised to t, the field's
    arrows at t, samples from fixed noise and the trajectories of 40 of them from noise to data;
    each a Vega-Lite layer (``description`` names it) with its own dataset."""
    paths = canvas.paths.transpose(0, 1)  # (P, S + 1, 2): one line per sample
    path_id = torch.arange(paths.shape[0]).repeat_interleave(paths.shape[1])  # (P*(S+1),)
    order = torch.arange(paths.shape[1]).repeat(paths.shape[0])
    push = canvas.field_to - canvas.field_from  # (F, 2)
    datasets = {
        "paths": frame_table(path=path_id, order=order, x=paths[..., 0].flatten(), y=paths[..., 1].flatten()),
        "real": frame_table(x=canvas.real[:, 0], y=canvas.real[:, 1]),
        "noised": frame_table(x=canvas.noised[:, 0], y=canvas.noised[:, 1]),
        "samples": frame_table(x=canvas.samples[:, 0], y=canvas.samples[:, 1]),
        # the arrowhead's angle: Vega's triangle-up points up (+y), angles turn it clockwise
        "field": frame_table(x=canvas.field_from[:, 0], y=canvas.field_from[:, 1], x2=canvas.field_to[:, 0],
                             y2=canvas.field_to[:, 1], angle=torch.rad2deg(torch.atan2(push[:, 0], push[:, 1]))),
    }
    names = {"trajectories": _("trajectories"), "real data": _("real data"),
             "data noised to t": _("data noised to t = {t}", t=f"{canvas.t:.2f}"), "samples": _("samples"),
             "field at t": _("field at t")}
    colours = {"trajectories": PATH_COLOUR, "real data": REAL_COLOUR, "data noised to t": NOISED_COLOUR,
               "samples": FAKE_COLOUR, "field at t": FIELD_COLOUR}
    drawing_order = ("trajectories", "real data", "data noised to t", "samples", "field at t")  # bottom first
    shown = [name for name in drawing_order if name in layers and not (name == "data noised to t" and canvas.t == 0)]
    shown = shown or ["samples"]
    legend = {"domain": [names[n] for n in shown], "range": [colours[n] for n in shown]}
    scale = {"domain": [-canvas.span, canvas.span], "nice": False, "zero": False}
    x = {"field": "x", "type": "quantitative", "scale": scale, "title": None}
    y = {"field": "y", "type": "quantitative", "scale": scale, "title": None}

    def colour(name: str) -> dict:
        return {"datum": names[name], "scale": legend, "title": None}

    def dots(data: str, name: str, opacity: float) -> dict:
        return {"data": {"name": data}, "mark": {"type": "circle", "size": 12, "opacity": opacity, "clip": True},
                "encoding": {"x": x, "y": y, "color": colour(name)}}

    chosen = {
        "trajectories": {"data": {"name": "paths"}, "mark": {"type": "line", "strokeWidth": 1, "clip": True},
                         "encoding": {"x": x, "y": y, "color": colour("trajectories"),
                                      "detail": {"field": "path", "type": "nominal"},
                                      "order": {"field": "order", "type": "quantitative"}}},
        "real data": dots("real", "real data", 0.5),
        "data noised to t": dots("noised", "data noised to t", 0.7),
        "samples": dots("samples", "samples", 0.8),
        "field at t": {"data": {"name": "field"}, "layer": [
            {"mark": {"type": "rule", "strokeWidth": 1, "clip": True},
             "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"}, "color": colour("field at t")}},
            {"mark": {"type": "point", "shape": "triangle-up", "filled": True, "size": 20, "opacity": 1, "clip": True},
             "encoding": {"x": {**x, "field": "x2"}, "y": {**y, "field": "y2"}, "color": colour("field at t"),
                          "angle": {"field": "angle", "type": "quantitative", "scale": None}}}]},
    }
    return {"width": size, "height": size, "datasets": datasets,
            "layer": [{**chosen[name], "description": name} for name in shown],
            "config": {"legend": {"orient": "bottom", "direction": "horizontal", "columns": 3, "symbolOpacity": 1},
                       "view": {"stroke": "#ccc"}}}


def curves_spec(history: list[dict], modes: int | None, width: int = 340) -> dict:
    """The loss (raw, thin and faint; smoothed, thick) above the modes covered (ring and grid),
    against step: stacked Vega-Lite panels sharing the step axis."""
    loss = [row["loss"] for row in history]
    rows = [{"panel": 0, "step": row["step"], "raw": value, "smooth": trend}
            for row, value, trend in zip(history, loss, smooth(loss, 0.9))]
    if modes is not None:
        rows += [{"panel": 1, "step": row["step"], "raw": row["modes"], "smooth": row["modes"]}
                 for row in history if row.get("modes") is not None]
    table = pd.DataFrame(rows, columns=["panel", "step", "raw", "smooth"])
    last_panel = 0 if modes is None else 1

    def x(panel: int) -> dict:
        return {"field": "step", "type": "quantitative", "title": _("step") if panel == last_panel else None,
                "axis": {"labels": panel == last_panel}}

    loss_panel = {"title": {"text": _("loss"), "anchor": "start", "fontSize": 12}, "width": width, "height": 220,
                  "transform": [{"filter": "datum.panel == 0"}], "layer": [
                      {"mark": {"type": "line", "strokeWidth": 1, "opacity": 0.25, "color": "#1f77b4"},
                       "encoding": {"x": x(0), "y": {"field": "raw", "type": "quantitative", "title": None,
                                                     "scale": {"type": "log"}}}},
                      {"mark": {"type": "line", "strokeWidth": 2, "color": "#1f77b4"},
                       "encoding": {"x": x(0), "y": {"field": "smooth", "type": "quantitative", "title": None,
                                                     "scale": {"type": "log"}}}}]}
    panels = [loss_panel]
    if modes is not None:
        panels.append({"title": {"text": _("modes covered"), "anchor": "start", "fontSize": 12}, "width": width,
                       "height": 110, "transform": [{"filter": "datum.panel == 1"}],
                       "mark": {"type": "line", "point": True, "color": "black"},
                       "encoding": {"x": x(1), "y": {"field": "raw", "type": "quantitative", "title": None,
                                                     "scale": {"domain": [0, modes + 0.5]}}}})
    return {"datasets": {"curves": table}, "data": {"name": "curves"}, "vconcat": panels,
            "resolve": {"scale": {"x": "shared"}}}


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
