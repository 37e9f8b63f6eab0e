"""What the 2-D GAN lab draws: its settings form, the canvas and the curves of a ``Frame``, the
coverage numbers and diagnosis, and the explanations (formulas with their code)."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
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
# Vega-Lite, not Plotly: a Plotly chart's element id hashes its figure, so every new frame mounted
# a new chart in the browser, which stayed blank until Plotly had drawn it from scratch (issue 17,
# finding 7: empty canvases in most screenshots of a run). A Vega-Lite chart without selections
# has no such id: while its spec stays the same, Streamlit swaps the named datasets into the chart
# already on screen, so the last frame stays until the next one is there. Hence the spec holds
# nothing that changes from frame to frame (no step numbers, fixed scales); only the datasets do.

def frame_table(**columns) -> pd.DataFrame:
    """A dataset for a chart: named columns of equal length (tensors or arrays) as float columns."""
    return pd.DataFrame({name: np.asarray(values, dtype=float) for name, values in columns.items()})


def gan_lab_canvas(canvas, layers, size: int = 460) -> dict:
    """The lab's picture as a Vega-Lite spec: D's verdict as a purple-to-green heatmap under the
    noise grid's image, the real (green) and generated (purple) points and G's gradient arrows,
    each a layer (``description`` names it) with its own dataset."""
    span, axis = canvas.span, canvas.surface_axis
    half = float(axis[1] - axis[0]) / 2  # each heatmap cell is centred on a grid point
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")  # (S, S); rows follow y, as canvas.surface
    lines = canvas.noise_lines  # (L, P, 2)
    line_id = torch.arange(lines.shape[0]).repeat_interleave(lines.shape[1])  # (L*P,)
    order = torch.arange(lines.shape[1]).repeat(lines.shape[0])  # (L*P,)
    push = canvas.arrows_to - canvas.arrows_from  # (A, 2)
    datasets = {
        "surface": frame_table(x=gx.flatten() - half, x2=gx.flatten() + half, y=gy.flatten() - half,
                               y2=gy.flatten() + half, d=canvas.surface.flatten()),
        "noise": frame_table(line=line_id, order=order, x=lines[..., 0].flatten(), y=lines[..., 1].flatten()),
        "real": frame_table(x=canvas.real[:, 0], y=canvas.real[:, 1]),
        "generated": frame_table(x=canvas.generated[:, 0], y=canvas.generated[:, 1]),
        # the arrowhead's angle: Vega's triangle-up points up (+y), angles turn it clockwise
        "arrows": frame_table(x=canvas.arrows_from[:, 0], y=canvas.arrows_from[:, 1], x2=canvas.arrows_to[:, 0],
                              y2=canvas.arrows_to[:, 1], angle=torch.rad2deg(torch.atan2(push[:, 0], push[:, 1]))),
    }
    scale = {"domain": [-span, span], "nice": False, "zero": False}
    x = {"field": "x", "type": "quantitative", "scale": scale, "title": None}
    y = {"field": "y", "type": "quantitative", "scale": scale, "title": None}
    points = {"domain": [_("real data"), _("generated G(z)")], "range": [REAL_COLOUR, FAKE_COLOUR]}
    chosen = {
        "D's verdict": {"data": {"name": "surface"}, "mark": {"type": "rect", "opacity": 0.5},
                        "encoding": {"x": x, "x2": {"field": "x2"}, "y": y, "y2": {"field": "y2"},
                                     "color": {"field": "d", "type": "quantitative", "title": _("D says real"),
                                               "scale": {"scheme": "purplegreen", "domain": [0, 1]},
                                               "legend": {"orient": "right", "direction": "vertical",
                                                          "gradientLength": 200}}}},
        "noise grid through G": {"data": {"name": "noise"},
                                 "mark": {"type": "line", "color": "#762a83", "opacity": 0.45, "strokeWidth": 1,
                                          "clip": True},
                                 "encoding": {"x": x, "y": y, "detail": {"field": "line", "type": "nominal"},
                                              "order": {"field": "order", "type": "quantitative"}}},
        "real data": {"data": {"name": "real"}, "mark": {"type": "circle", "size": 14, "opacity": 0.7, "clip": True},
                      "encoding": {"x": x, "y": y, "color": {"datum": _("real data"), "scale": points,
                                                             "legend": None}}},  # the next layer's legend names both
        "generated": {"data": {"name": "generated"}, "mark": {"type": "circle", "size": 14, "opacity": 0.8,
                                                              "clip": True},
                      "encoding": {"x": x, "y": y,
                                   "color": {"datum": _("generated G(z)"), "scale": points, "title": None}}},
        "G's gradient": {"layer": [
            {"mark": {"type": "rule", "color": "#40004b", "strokeWidth": 1, "clip": True},
             "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"}}},
            {"mark": {"type": "point", "shape": "triangle-up", "filled": True, "size": 25, "color": "#40004b",
                      "opacity": 1, "clip": True},
             "encoding": {"x": {**x, "field": "x2"}, "y": {**y, "field": "y2"},
                          "angle": {"field": "angle", "type": "quantitative", "scale": None}}}],
            "data": {"name": "arrows"}},
    }
    shown = [{**chosen[name], "description": name} for name in GAN_LAB_LAYERS if name in layers]
    return {"width": size, "height": size, "datasets": {name: datasets[name] for name in datasets},
            "layer": shown or [{**chosen["generated"], "description": "generated"}],
            "resolve": {"scale": {"color": "independent"}},
            "config": {"legend": {"orient": "bottom", "direction": "horizontal", "symbolOpacity": 1},
                       "view": {"stroke": "#ccc"}}}


def gan_lab_curves(history: list[dict], modes: int | None = None, width: int = 360) -> dict:
    """D and G losses, D(x) and D(G(z)), and (for ring and grid, which have ``modes`` modes) the
    modes covered, against step: stacked panels sharing the step axis, as a Vega-Lite spec. Each
    term is drawn twice in its colour: thin and faint, the raw values; thick, smoothed
    (metrics.curves.smooth); the caption under the chart says which is which."""
    panels = [(_("D and G loss"), ("d_loss", "g_loss"), None),
              (_("D's mean verdict: D(x) and D(G(z))"), ("d_real", "d_fake"), [0, 1])]
    if modes is not None:
        panels.append((_("modes covered"), ("modes",), [0, modes + 0.5]))
    colours = {"d_loss": "#1f77b4", "g_loss": "#ff7f0e", "d_real": REAL_COLOUR, "d_fake": FAKE_COLOUR, "modes": "black"}
    names = {term: _(TERM_NAMES[term]) if term in TERM_NAMES else _("modes covered") for term in colours}
    rows = []
    for panel, (_title, terms, _domain) in enumerate(panels):
        for term in terms:
            points = [(row["step"], row[term]) for row in history if row.get(term) is not None]
            raw = [value for _step, value in points]
            smoothed = raw if term == "modes" else smooth(raw, 0.8)
            rows += [{"panel": panel, "term": names[term], "step": step, "raw": value, "smooth": trend}
                     for (step, value), trend in zip(points, smoothed)]
    table = pd.DataFrame(rows, columns=["panel", "term", "step", "raw", "smooth"])
    colour = {"field": "term", "type": "nominal", "title": None,
              "scale": {"domain": [names[t] for t in colours], "range": list(colours.values())}}
    charts = []
    for panel, (title, _terms, domain) in enumerate(panels):
        last = panel == len(panels) - 1
        x = {"field": "step", "type": "quantitative", "title": _("step") if last else None,
             "axis": {"labels": last}}
        y_scale = {"domain": domain, "zero": False} if domain else {"zero": False}
        layers = [{"mark": {"type": "line", "strokeWidth": 1, "opacity": 0.25},
                   "encoding": {"x": x, "y": {"field": "raw", "type": "quantitative", "title": None,
                                              "scale": y_scale}, "color": colour}},
                  {"mark": {"type": "line", "strokeWidth": 2},
                   "encoding": {"x": x, "y": {"field": "smooth", "type": "quantitative", "title": None,
                                              "scale": y_scale}, "color": colour}}]
        if panel == 1:  # a draw: D cannot tell
            layers.append({"mark": {"type": "rule", "strokeDash": [3, 3], "color": "grey"},
                           "encoding": {"y": {"datum": 0.5, "type": "quantitative"}}})
        charts.append({"title": {"text": title, "anchor": "start", "fontSize": 12}, "width": width,
                       "height": 150 if panel < 2 else 90, "transform": [{"filter": f"datum.panel == {panel}"}],
                       "layer": layers})
    return {"datasets": {"curves": table}, "data": {"name": "curves"}, "vconcat": charts,
            "resolve": {"scale": {"x": "shared"}},
            "config": {"legend": {"orient": "bottom", "direction": "horizontal", "symbolOpacity": 1,
                                  "symbolStrokeWidth": 3}}}


def draw_frame(frame: Frame, layers: list[str]) -> None:
    """The canvas, the curves, the coverage numbers and the diagnosis of one frame of the lab."""
    canvas = frame.canvas
    canvas_column, curves_column = st.columns([11, 9])
    with canvas_column:
        st.vega_lite_chart(spec=gan_lab_canvas(canvas, layers), key="gl_canvas")
        st.caption(_("Step {step} ({d} D updates, {g} G updates). Background: {surface}. Noise grid: {plane}. "
                     "Arrows: where G's loss pushes each of 150 fakes (lengths scaled for display).",
                     step=f"{frame.step:,}", d=f"{frame.d_updates:,}", g=f"{frame.g_updates:,}",
                     surface=canvas.surface_meaning,
                     plane=canvas.noise_plane))
    with curves_column:
        if frame.history:
            st.vega_lite_chart(spec=gan_lab_curves(frame.history, frame.modes), key="gl_curves")
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
    # TRANSLATORS: a diagnosis's title in bold, then its explanation. Keep the full stop outside the ** in
    # Chinese (**{title}**。): CommonMark does not close ** between 。 and a character
    show(_("**{title}.** {explanation}", title=diagnosis.title, explanation=diagnosis.explanation))


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
