"""What the 2-D GAN lab draws: its settings form, the canvas and the curves of a ``Frame``, the
coverage numbers and diagnosis, and the explanations (formulas with their code)."""

from __future__ import annotations

import inspect

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from genmodels import losses
from genmodels.configs import LEARNING_RATES
from genmodels.data import DATASETS
from genmodels.i18n import N_, _
from genmodels.lessons import gan_lab_settings as lab_settings
from genmodels.lessons.gan_lab import GANLab
from genmodels.lessons.gan_lab_runner import Frame
from genmodels.lessons.gan_lab_settings import SETTINGS
from genmodels.metrics.curves import smooth
from genmodels.models.gan import GAN_LOSSES
from genmodels.training.steps import discriminator_step, gan_step, generator_step
from genmodels.ui.gan_views import LOSS_NAMES
from genmodels.ui.render import TERM_NAMES

# The canvas's layers, by key (shown translated): the page's layer picker lists them.
GAN_LAB_LAYERS = (N_("real data"), N_("generated"), N_("D's verdict"), N_("noise grid through G"),
                  N_("G's gradient"))
REAL_COLOUR, FAKE_COLOUR = "#1b7837", "#762a83"  # green and purple, as in GAN Lab and PRGn


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------

def choice(lab: GANLab, column, name: str, options, **kwargs):
    """A selectbox for setting ``name``, starting on the model's current value."""
    current = getattr(lab.config, name)
    return column.selectbox(_(SETTINGS[name][0]), options, index=list(options).index(current), key=f"gl_{name}",
                            **kwargs)


def number(lab: GANLab, column, name: str, low: int, high: int, **kwargs):
    """A number input for setting ``name``, starting on the model's current value."""
    return column.number_input(_(SETTINGS[name][0]), low, high, getattr(lab.config, name), key=f"gl_{name}",
                               **kwargs)


def lab_settings_form(lab: GANLab) -> bool:
    """The lab's settings in a form that shows the running model's config; True when Apply was pressed."""
    with st.expander(_("Settings: data, networks, learning rates")), st.form("gl_settings", border=False):
        data_column, net_column, rate_column = st.columns(3)
        choice(lab, data_column, "dataset", lab_settings.TOY_DATASETS,
               format_func=lambda name: f"{name}: {DATASETS[name].description}")
        choice(lab, data_column, "loss", GAN_LOSSES, format_func=lambda name: _(LOSS_NAMES[name]),
               help=_("non-saturating: the original GAN with G maximising log D(G(z)); least-squares: LSGAN (Mao et "
                      "al. 2017), squared distances to the targets 1 (real) and 0 (fake)"))
        number(lab, data_column, "latent_dim", *lab_settings.LATENT_RANGE,
               help=_("z ~ N(0, I) of this many dimensions is G's input"))
        number(lab, data_column, "seed", *lab_settings.SEED_RANGE,
               help=_("the same seed and settings give the same run, step for step"))
        units, layers = _("units per hidden layer"), _("hidden layers")
        number(lab, net_column, "g_hidden", *lab_settings.WIDTH_RANGE, step=8, help=units)
        number(lab, net_column, "g_depth", *lab_settings.DEPTH_RANGE, help=layers)
        number(lab, net_column, "d_hidden", *lab_settings.WIDTH_RANGE, step=8, help=units)
        number(lab, net_column, "d_depth", *lab_settings.DEPTH_RANGE, help=layers)
        rate = {"format_func": lambda v: f"{v:g}", "help": _("a log ladder: 1, 2, 5 per decade")}
        choice(lab, rate_column, "lr_g", LEARNING_RATES, **rate)
        choice(lab, rate_column, "lr_d", LEARNING_RATES, **rate)
        number(lab, rate_column, "d_steps", *lab_settings.D_STEPS_RANGE)
        choice(lab, rate_column, "batch_size", lab_settings.BATCH_SIZES)
        st.caption(_("Learning rates and D steps change the running model; any other change starts a new one."))
        return st.form_submit_button(_("Apply"), type="primary")


# --------------------------------------------------------------------------------------------
# The canvas and the curves
# --------------------------------------------------------------------------------------------
# The lab redraws both figures about once a second: data goes in as numpy arrays, which plotly
# checks far faster than lists, and the curves' panels are laid out by hand (make_subplots alone
# takes about as long as drawing everything else).

def polylines(lines: torch.Tensor):
    """(L, P, 2) -> x and y arrays with a NaN between lines (a gap), so one trace draws them all."""
    padded = np.concatenate([lines.numpy(), np.full((len(lines), 1, 2), np.nan)], axis=1)  # (L, P+1, 2)
    flat = padded.reshape(-1, 2)
    return flat[:, 0], flat[:, 1]


def gan_lab_canvas(canvas, layers, height: int = 560) -> go.Figure:
    """The lab's picture: D's verdict as a purple-to-green heatmap under the noise grid's image,
    the real (green) and generated (purple) points and G's gradient arrows, each a layer."""
    figure = go.Figure()
    axis = canvas.surface_axis.numpy()
    if "D's verdict" in layers:
        figure.add_heatmap(x=axis, y=axis, z=canvas.surface.numpy(), zmin=0, zmax=1, colorscale="PRGn",
                           opacity=0.5, name=_("D's verdict"), zsmooth="best",
                           colorbar={"title": {"text": _("D says real"), "side": "right"}, "len": 0.6,
                                     "thickness": 12},
                           hovertemplate="(%{x:.2f}, %{y:.2f}): D = %{z:.2f}<extra></extra>")
    if "noise grid through G" in layers:
        xs, ys = polylines(canvas.noise_lines)
        figure.add_scatter(x=xs, y=ys, mode="lines", line={"color": "rgba(118,42,131,0.45)", "width": 1},
                           name=_("noise grid through G"), hoverinfo="skip")
    if "real data" in layers:
        figure.add_scattergl(x=canvas.real[:, 0].numpy(), y=canvas.real[:, 1].numpy(), mode="markers",
                             marker={"size": 4, "color": REAL_COLOUR, "opacity": 0.7}, name=_("real data"))
    if "generated" in layers:
        figure.add_scattergl(x=canvas.generated[:, 0].numpy(), y=canvas.generated[:, 1].numpy(), mode="markers",
                             marker={"size": 4, "color": FAKE_COLOUR, "opacity": 0.8}, name=_("generated G(z)"))
    if "G's gradient" in layers and len(canvas.arrows_from):
        segments = torch.stack([canvas.arrows_from, canvas.arrows_to], dim=1)  # (A, 2 ends, 2)
        xs, ys = polylines(segments)
        sizes = np.tile([0, 7, 0], len(segments))  # an arrowhead at each segment's end only
        figure.add_scatter(x=xs, y=ys, mode="lines+markers", name=_("G's gradient"), hoverinfo="skip",
                           line={"color": "#40004b", "width": 1},
                           marker={"symbol": "arrow", "angleref": "previous", "size": sizes, "color": "#40004b"})
    span = canvas.span
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, uirevision="gan_lab",
                         xaxis={"range": [-span, span], "zeroline": False, "constrain": "domain"},
                         yaxis={"range": [-span, span], "scaleanchor": "x", "zeroline": False, "constrain": "domain"},
                         legend={"orientation": "h", "y": -0.06, "itemsizing": "constant"},
                         plot_bgcolor="white")
    return figure


def gan_lab_curves(history: list[dict], modes: int | None = None, height: int = 560) -> go.Figure:
    """D and G losses, D(x) and D(G(z)), and (for ring and grid, which have ``modes`` modes) the
    modes covered, against step: stacked panels sharing one step axis. Each term is drawn twice:
    thin and faint, the raw values; thick, smoothed (metrics.curves.smooth); the legend says which."""
    with_modes = any(row.get("modes") is not None for row in history)
    panels = [(_("D and G loss"), ("d_loss", "g_loss")),
              (_("D's mean verdict: D(x) and D(G(z))"), ("d_real", "d_fake"))]
    if with_modes:
        panels.append((_("modes covered"), ("modes",)))
    heights = [0.4, 0.35, 0.25][:len(panels)]
    gap = 0.09  # between panels, room for each panel's label
    scale = 1 - gap * len(panels)
    colours = {"d_loss": "#1f77b4", "g_loss": "#ff7f0e", "d_real": REAL_COLOUR, "d_fake": FAKE_COLOUR, "modes": "black"}
    figure = go.Figure()
    layout, labels, top = {}, [], 1.0 - gap
    for index, (title, terms) in enumerate(panels, start=1):
        bottom = max(0.0, round(top - heights[index - 1] * scale, 6))
        suffix = "" if index == 1 else str(index)
        layout[f"yaxis{suffix}"] = {"domain": [bottom, top]}
        labels.append({"text": f"<b>{title}</b>", "xref": "paper", "yref": "paper", "x": 0, "y": top,
                       "xanchor": "left", "yanchor": "bottom", "showarrow": False, "font": {"size": 12}})
        layout[f"xaxis{suffix}"] = {"anchor": f"y{suffix}", "showticklabels": index == len(panels)}
        if index > 1:
            layout[f"xaxis{suffix}"]["matches"] = "x"
        for term in terms:
            points = np.array([(row["step"], row[term]) for row in history if row.get(term) is not None], dtype=float)
            steps, values = (points[:, 0], points[:, 1]) if len(points) else (np.array([]), np.array([]))
            name = _(TERM_NAMES[term]) if term in TERM_NAMES else _("modes covered")
            axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
            if term != "modes":
                figure.add_scatter(x=steps, y=values, mode="lines", line={"color": colours[term], "width": 1},
                                   opacity=0.25, name=_("{term} (raw)", term=name), legendgroup=term,
                                   showlegend=False, hoverinfo="skip", **axes)
                values = np.array(smooth(values.tolist(), 0.8))
                name = _("{term} (smoothed)", term=name)
            figure.add_scatter(x=steps, y=values, mode="lines", name=name, legendgroup=term,
                               line={"color": colours[term], "width": 2}, **axes)
        top = bottom - gap
    layout["yaxis2"].update(range=[0, 1])
    if with_modes:
        axis = {"range": [0, modes + 0.5], "dtick": max(1, modes // 4)} if modes else {"rangemode": "tozero"}
        layout["yaxis3"].update(axis)
    layout[f"xaxis{len(panels)}"]["title"] = _("step")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, uirevision="gan_lab_curves",
                         legend={"orientation": "h", "y": -0.14}, annotations=labels,
                         shapes=[{"type": "line", "xref": "x2 domain", "yref": "y2", "x0": 0, "x1": 1, "y0": 0.5,
                                  "y1": 0.5, "line": {"dash": "dot", "color": "grey", "width": 1}}], **layout)
    return figure


def draw_frame(frame: Frame, layers: list[str]) -> None:
    """The canvas, the curves, the coverage numbers and the diagnosis of one frame of the lab."""
    canvas = frame.canvas
    canvas_column, curves_column = st.columns([11, 9])
    with canvas_column:
        st.plotly_chart(gan_lab_canvas(canvas, layers), key="gl_canvas")
        st.caption(_("Step {step} ({d} D updates, {g} G updates). Background: {surface}. Noise grid: {plane}. "
                     "Arrows: where G's loss pushes each of 150 fakes (lengths scaled for display).",
                     step=f"{frame.step:,}", d=f"{frame.d_updates:,}", g=f"{frame.g_updates:,}",
                     surface=canvas.surface_meaning,
                     plane=canvas.noise_plane))
    with curves_column:
        if frame.history:
            st.plotly_chart(gan_lab_curves(frame.history, frame.modes), key="gl_curves")
            notes = [_("Thin, faint lines: each step's raw value; thick lines: the same, smoothed.")]
            if frame.history_stride > 1:
                notes.append(_("Each point of the curves averages {stride} steps.", stride=frame.history_stride))
            if frame.loss == "least_squares":
                notes.append(_("With the least-squares loss D's output is not a probability: the curves show "
                               "sigmoid(output), as the trainer logs it, so a draw sits at about 0.62 there. The "
                               "numbers below and the background use D's output itself (0.5 at a draw)."))
            st.caption(" ".join(notes))
        else:
            st.info(_("No steps yet: press **Run**, or take one step at a time."))
    show_lab_quality(frame)


def show_lab_quality(frame: Frame) -> None:
    """The coverage numbers and, in plain words, what the recent steps look like."""
    quality = frame.quality
    columns = st.columns(5)
    if quality.modes is not None:
        modes = quality.modes
        columns[0].metric(_("Modes covered"), f"{modes.modes_covered} / {modes.modes}",
                          help=_("a mode counts when at least {least} of the {points} generated points lie within "
                                 "{radius} of its centre (3 standard deviations)", least=modes.min_points,
                                 points=f"{modes.points:,}", radius=f"{modes.radius:g}"))
        columns[1].metric(_("Off-mode points"), f"{modes.off_mode_fraction:.0%}",
                          help=_("generated points farther than {radius} from every mode: low-quality fakes",
                                 radius=f"{modes.radius:g}"))
    else:
        support = quality.support
        columns[0].metric(_("Data reached (recall)"), f"{support.recall:.0%}",
                          help=_("real points with a generated point within {radius}; this dataset has no separate "
                                 "modes to count", radius=f"{support.radius:g}"))
        columns[1].metric(_("Fakes on the data (precision)"), f"{support.precision:.0%}",
                          help=_("generated points within {radius} of a real point", radius=f"{support.radius:g}"))
    if frame.verdicts is not None:
        columns[2].metric(_("D(x), real"), f"{frame.verdicts[0]:.2f}",
                          help=_("D's mean verdict on real points over the last 200 steps; 1 = sure it is real"))
        columns[3].metric(_("D(G(z)), fake"), f"{frame.verdicts[1]:.2f}",
                          help=_("D's mean verdict on G's points over the last 200 steps; 0.5 = D cannot tell"))
    columns[4].metric(_("Spread of the fakes"), f"{quality.spread:.0%}",
                      help=_("how spread out G's points are, as a share of the data's spread (standard deviations); "
                             "far below 100% means G has bunched its points together: mode collapse"))
    if frame.first_full_coverage is not None:
        step, seconds = frame.first_full_coverage
        st.caption(_("All modes first covered at step {step}, after {seconds} s of training.", step=f"{step:,}",
                     seconds=f"{seconds:.1f}"))
    diagnosis = frame.diagnosis
    show = {"converged": st.success, "d_wins": st.warning, "mode_collapse": st.warning, "mode_hopping": st.warning,
            "off_mode": st.info}.get(diagnosis.kind, st.info)
    show(f"**{diagnosis.title}.** {diagnosis.explanation}")


# --------------------------------------------------------------------------------------------
# The explanations
# --------------------------------------------------------------------------------------------

def explain_lab() -> None:
    """What the 2-D lab's pictures show, and how its game works (formulas with their code)."""
    with st.expander(_("What you are looking at"), expanded=True):
        st.markdown(_(
            "- **Green points** are real data; **purple points** are G's fakes, always made from the same 1,000 noise "
            "vectors, so you see the *same* fakes move.\n"
            "- **The background** is D's verdict at every place on the plane: green where D would call a point real, "
            "purple where it would call it fake. G's points slide towards green, and D repaints the background "
            "after every step.\n"
            "- **The thin purple lines** are a flat grid of noise values after G has bent it: G can only stretch and "
            "fold the noise plane, never tear it, so to reach separate blobs it has to stretch thin bridges between "
            "them, and the points on those bridges are the off-mode fakes.\n"
            "- **The arrows** show which way G's loss pushes each fake: up D's slope towards what D calls real.\n"
            "- **Mode collapse**: G puts all its points on one or two of the blobs. Each fake looks real, so D can "
            "only push back by rejecting that blob, and G hops to another. Try the *mode collapse* preset.\n"
            "- **D winning**: D(x) near 1 and D(G(z)) near 0. With the original loss log(1 - D(G(z))) G would get "
            "almost no gradient; the non-saturating loss keeps it alive, but G still moves slowly. Try *D too "
            "strong*.\n"
            "- **The goal** is not a small loss: at the end of a good run D(x) and D(G(z)) both sit near 0.5, "
            "because D can no longer tell the two clouds apart."))

    with st.expander(_("How it works: the minimax game, the non-saturating loss, the two-phase step")):
        st.markdown(_("Goodfellow et al. (2014) set D and G a minimax game over one value function:"))
        st.latex(r"\min_G \max_D \; V(D, G) = \mathbb{E}_{x \sim p_\text{data}}[\log D(x)]"
                 r" + \mathbb{E}_{z \sim \mathcal{N}(0, I)}[\log(1 - D(G(z)))]")
        st.markdown(_("D maximises V, which is the same as minimising a binary cross-entropy with target 1 on real "
                      "points and 0 on fakes, computed on D's logits (D = sigmoid(logit)):"))
        st.latex(r"L_D = -\mathbb{E}_x[\log D(x)] - \mathbb{E}_z[\log(1 - D(G(z)))]")
        st.code(inspect.getsource(losses.discriminator_loss), language="python")
        st.markdown(_("Early on, D rejects G's fakes easily, D(G(z)) is near 0 and log(1 - D(G(z))) is flat there, "
                      "so G gets almost no gradient. The paper's fix, used here: G maximises log D(G(z)) instead, the "
                      "*non-saturating* loss, which has the same fixed point and a strong gradient exactly when G is "
                      "losing."))
        st.latex(r"L_G = -\mathbb{E}_z[\log D(G(z))]")
        st.code(inspect.getsource(losses.generator_loss_nonsaturating), language="python")
        st.markdown(_("The least-squares variant (LSGAN, Mao et al. 2017) replaces both with squared distances from "
                      "D's raw output to the targets:"))
        st.latex(r"L_D = \tfrac12\mathbb{E}_x[(D(x) - 1)^2] + \tfrac12\mathbb{E}_z[D(G(z))^2], \qquad "
                 r"L_G = \tfrac12\mathbb{E}_z[(D(G(z)) - 1)^2]")
        st.markdown(_("One D+G step of this lab is the same function the Train page runs: D steps updates of D on "
                      "real points and *detached* fakes (so D's update cannot reach G), then one update of G through "
                      "D, whose own weights are frozen for that phase. **D only** and **G only** call one phase "
                      "alone."))
        st.code(inspect.getsource(gan_step) + "\n\n" + inspect.getsource(discriminator_step) + "\n\n"
                + inspect.getsource(generator_step), language="python")
