"""Render helpers: a job's history as Plotly curves, snapshots as pictures, a sidebar status."""

from __future__ import annotations

import base64
import io
import re

import plotly.graph_objects as go
import streamlit as st

from genmodels.i18n import N_, _, ngettext
from genmodels.images import rows_grid
from genmodels.metrics.curves import smooth
from genmodels.serving.jobs import FAILED, QUEUED, RUNNING, JobView
from genmodels.sources.fetch import how_to_get
from genmodels.sources.local import IDX_DATASETS

# Loss terms, in the order and with the names a student reads them.
# Marked with N_ and translated where shown (_(TERM_NAMES[term])).
TERM_NAMES = {
    "loss": N_("total loss"), "bce": N_("reconstruction (BCE)"), "kl": N_("KL to the prior"),
    "sparsity": N_("sparsity penalty"), "d_loss": N_("D loss"), "g_loss": N_("G loss"), "d_real": "D(x)",
    "d_fake": "D(G(z))",
}
# Markdown's special characters (CommonMark lets a backslash escape any ASCII punctuation), with ":"
# against links (http://...) and Streamlit's :red[...] and :icon: codes, "$" against LaTeX.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>$:~.])")


def plain(text) -> str:
    """``text`` (a model or file name a person typed) as Markdown that shows exactly those characters:
    no bold, no link, no HTML, no formula, on one line."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def chart_text(text) -> str:
    """``text`` (a name someone typed) for a Plotly legend or title, which read a few HTML tags
    (<b>, <a href=...>): the angle brackets and ampersands become entities, shown as typed."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def dataset_missing(name: str | None, consequence: str = "") -> None:
    """Say on the page that ``name``'s files are not on this server and what to run to get them
    (the setup step's own advice); ``consequence``, translated by the caller, says what the page
    cannot show without them. A name outside the known datasets (a checkpoint's own, maybe from
    someone else's file) is not repeated."""
    if name in IDX_DATASETS:
        advice = str(how_to_get(name))
    else:
        advice = _("This model's data set is not on this server.")
    st.info(f"{consequence}\n\n{advice}" if consequence else advice)


def loss_figure(view: JobView, only: tuple[str, ...] = (), y_title: str = "") -> go.Figure:
    """The job's loss terms against the step, raw (faint) and smoothed; ``only`` picks some terms
    (e.g. the GAN studio draws its losses and D's outputs on two charts)."""
    figure = go.Figure()
    steps = [row["step"] for row in view.history]
    terms = [t for t in TERM_NAMES if view.history and t in view.history[0] and (not only or t in only)]
    if set(terms) == {"loss", "bce"}:
        terms = ["loss"]  # a plain autoencoder's loss is its BCE: one curve, not two identical ones
    for term in terms:
        raw = [row[term] for row in view.history]
        name = _(TERM_NAMES[term])
        figure.add_scatter(x=steps, y=raw, mode="lines", name=_("{term} (raw)", term=name), opacity=0.3,
                           legendgroup=term, showlegend=False, hoverinfo="skip")
        figure.add_scatter(x=steps, y=smooth(raw), mode="lines", name=name, legendgroup=term)
    test_key = "test_loss"
    if view.epochs and test_key in view.epochs[0] and "loss" in terms:
        figure.add_scatter(x=[e["step"] for e in view.epochs], y=[e[test_key] for e in view.epochs],
                           mode="markers+lines", name=_("test loss (epoch end)"), marker={"size": 9})
    if terms and all(t in ("d_real", "d_fake") for t in terms):  # D's mean outputs: probabilities
        figure.add_hline(y=0.5, line={"dash": "dot", "color": "grey"}, annotation_text=_("D cannot tell (0.5)"))
        figure.update_yaxes(range=[0, 1])
    figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title=_("step"),
                         yaxis_title=y_title or (_("loss per image") if "loss" in terms else _("value")),
                         uirevision="loss",
                         legend={"orientation": "h", "y": -0.25})
    return figure


def show_snapshot(view: JobView, key: str) -> None:
    if not view.snapshots:
        st.caption(_("The first picture appears after a few hundred steps."))
        return
    shot = view.snapshots[-1]
    if shot.images is not None:
        rows = " / ".join(_(row) for row in shot.rows)  # the training loop marks its row names with N_
        st.image(rows_grid(fold_rows(shot.images), scale=3), caption=_("{rows} (step {step})", rows=rows,
                                                                       step=shot.step), width="stretch")
    else:
        points = shot.points
        figure = go.Figure(go.Scattergl(x=points[:, 0].tolist(), y=points[:, 1].tolist(), mode="markers",
                                        marker={"size": 3}, name=_("generated")))
        figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, uirevision="points",
                             title=_("generated points (step {step})", step=shot.step), xaxis={"range": [-3, 3]},
                             yaxis={"range": [-3, 3], "scaleanchor": "x"})
        st.plotly_chart(figure, key=key)


def fold_rows(images, width: int = 8):
    """(R, N, C, H, W) -> (R * N/width, width, C, H, W): long rows folded into blocks of ``width``
    columns, keeping each block's rows together (input above its reconstruction)."""
    rows, n = images.shape[:2]
    if n <= width or n % width:
        return images
    blocks = images.reshape(rows, n // width, width, *images.shape[2:])  # (R, blocks, width, C, H, W)
    return blocks.transpose(0, 1).reshape(rows * (n // width), width, *images.shape[2:])


def job_status_line(view: JobView) -> str:
    """One Markdown line on the job, its name in bold as plain text (a name is whatever was typed)."""
    name = f"**{plain(view.name)}**"
    if view.state == QUEUED:
        return ngettext("{name}: queued, {n} job ahead (the server trains a few at a time)",
                        "{name}: queued, {n} jobs ahead (the server trains a few at a time)",
                        view.queue_position, name=name, n=view.queue_position)
    if view.state == RUNNING:
        line = _("{name}: training, step {step}/{total}, {speed} images/s, {elapsed} s elapsed", name=name,
                 step=view.step, total=view.total_steps, speed=f"{view.images_per_second:,.0f}",
                 elapsed=f"{view.elapsed:.0f}")
        if view.eta_seconds is not None:
            line += _(", about {seconds} s left", seconds=f"{view.eta_seconds:.0f}")
        return line
    if view.state == FAILED:
        return _("{name}: failed: {reason}", name=name, reason=plain(view.message))
    # finished or stopped: the message says which ("stopped at step 56")
    return _("{name}: {state}", name=name, state=plain(view.message))


# The two architectures of the autoencoder families, as a person reads them.
ARCHITECTURES = {"mlp": "MLP", "conv": N_("convolutional")}

# Fewer steps than this leave the loss chart with a handful of points (one every log_every steps) and an
# autoencoder's pictures still grey (the Train page says so, with the numbers of the run).
MIN_USEFUL_STEPS = 200


# The model settings a run shows it started with, and their names (β and ρ as in the formulas).
MODEL_SETTINGS = {"arch": N_("architecture"), "latent_dim": N_("latent size"), "beta": "β", "sparsity_target": "ρ",
                  "sparsity_weight": "β", "noise_level": N_("noise level"), "d_steps": N_("D steps per G step")}


def started_with(job, view: JobView) -> None:
    """The settings a run started with (not the form's, which may have been edited since), its
    number of steps, and a warning when they are too few to learn much."""
    from genmodels.lessons.denoising import NOISE_NAMES

    config, model = job.config, job.model.config
    settings = {_("dataset"): job.dataset.name, _("epochs"): config.epochs, _("batch size"): config.batch_size,
                _("learning rate"): f"{config.lr:g}", _("seed"): config.seed}
    settings |= {_(label): getattr(model, field) for field, label in MODEL_SETTINGS.items() if hasattr(model, field)}
    if getattr(model, "arch", None) in ARCHITECTURES:
        settings[_("architecture")] = _(ARCHITECTURES[model.arch])
    if getattr(model, "corruption", "none") != "none":
        settings[_("training noise")] = _(NOISE_NAMES[model.corruption])
    steps = view.total_steps - job.start_step
    st.caption(_("Started with: {settings}", settings=plain(", ".join(f"{k} {v}" for k, v in settings.items())))
               + " " + ngettext("({n} step)", "({n} steps)", steps, n=steps))
    if steps < MIN_USEFUL_STEPS:
        st.warning(_("Only {steps} steps: the loss is drawn every {log} steps, so the chart gets {points} points, "
                     "and {steps} steps are too few for the pictures to get past grey. Take more epochs or a "
                     "smaller batch.", steps=steps, log=config.log_every, points=steps // config.log_every))


def png_data_url(picture) -> str:
    """A PIL picture as a ``data:image/png`` URL, for ``st.image``: the picture travels inside the
    page update itself, so the browser shows it without a second request to the server (which a
    busy server answers late, after the browser has started a long redraw of a chart)."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def latent_scatter(coords, labels, class_names, current: tuple[float, float] | None, span: float,
                   extra: dict[str, tuple[float, float]] | None = None, prior: bool = True,
                   height: int = 520) -> go.Figure:
    """The encoded test set on the latent plane, one colour per class, with the prior's 1- and
    2-sigma circles, the current point, and an invisible grid of points so that clicking an empty
    region also selects a place."""
    import math

    figure = go.Figure()
    steps = 25  # invisible click targets: a 25x25 lattice with markers big enough to tile the plane
    ticks = [-span + 2 * span * i / (steps - 1) for i in range(steps)]
    # WebGL like the codes: as 625 SVG markers the lattice made each redraw (every slider move) slow.
    figure.add_scattergl(x=[u for _ in ticks for u in ticks], y=[v for v in ticks for _ in ticks], mode="markers",
                         marker={"size": 22, "opacity": 0}, hoverinfo="none", showlegend=False, name="plane")
    for index, name in enumerate(class_names):
        members = (labels == index).nonzero().flatten()
        if len(members) == 0:
            continue
        figure.add_scattergl(x=coords[members, 0].tolist(), y=coords[members, 1].tolist(), mode="markers",
                             marker={"size": 3, "opacity": 0.6}, name=name)
    circle = [2 * math.pi * i / 100 for i in range(101)]
    for radius in (1, 2) if prior else ():
        figure.add_scatter(x=[radius * math.cos(t) for t in circle], y=[radius * math.sin(t) for t in circle],
                           mode="lines", line={"color": "grey", "dash": "dot", "width": 1}, hoverinfo="skip",
                           name=f"prior {radius} sigma", showlegend=radius == 1)
    for name, (x, y) in (extra or {}).items():
        figure.add_scatter(x=[x], y=[y], mode="markers", marker={"size": 14, "symbol": "diamond", "color": "black"},
                           name=name)
    if current is not None:
        figure.add_scatter(x=[current[0]], y=[current[1]], mode="markers", name="current z",
                           marker={"size": 16, "symbol": "x", "color": "crimson", "line": {"width": 2}})
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, uirevision="latent",
                         xaxis={"range": [-span, span], "title": "z1"},
                         yaxis={"range": [-span, span], "title": "z2", "scaleanchor": "x"},
                         legend={"itemsizing": "constant"}, clickmode="event+select", dragmode="pan")
    return figure


# Plotly's default colours in class order, so that a code-map picture matches the interactive map.
CLASS_COLOURS = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880",
                 "#FF97FF", "#FECB52")


def code_map_picture(coords, labels, span: float, prior: bool = True, size: int = 380):
    """Codes (N, 2) as dots on the square [-span, span]^2, one colour per class as in the
    interactive map, with the axes through the origin and (``prior``) the 1- and 2-sigma circles:
    a picture rather than a chart, for maps that are only looked at (each Plotly chart costs the
    browser far more to draw, which made switching to the page slow)."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(picture)
    scale = (size - 1) / (2 * span)  # pixels per latent unit

    def pixel(u: float, v: float) -> tuple[float, float]:  # latent (u, v) -> image (x right, y down)
        return (u + span) * scale, (span - v) * scale

    draw.rectangle([0, 0, size - 1, size - 1], outline=(190, 190, 190))
    draw.line([pixel(-span, 0), pixel(span, 0)], fill=(215, 215, 215))
    draw.line([pixel(0, -span), pixel(0, span)], fill=(215, 215, 215))
    for radius in (1, 2) if prior else ():
        draw.ellipse([pixel(-radius, radius), pixel(radius, -radius)], outline=(150, 150, 150))
    for (u, v), label in zip(coords.tolist(), labels.tolist()):
        x, y = pixel(u, v)
        draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=CLASS_COLOURS[label % len(CLASS_COLOURS)])
    return picture


# --------------------------------------------------------------------------------------------
# The 2-D GAN lab: one canvas of layers, and the curves beside it
# --------------------------------------------------------------------------------------------

GAN_LAB_LAYERS = ("real data", "generated", "D's verdict", "noise grid through G", "G's gradient")
REAL_COLOUR, FAKE_COLOUR = "#1b7837", "#762a83"  # green and purple, as in GAN Lab and PRGn
# The lab redraws both figures a few times a second: data goes in as numpy arrays, which plotly
# checks far faster than lists, and the curves' panels are laid out by hand (make_subplots alone
# takes about as long as drawing everything else).


def polylines(lines):
    """(L, P, 2) -> x and y arrays with a NaN between lines (a gap), so one trace draws them all."""
    import numpy as np

    padded = np.concatenate([lines.numpy(), np.full((len(lines), 1, 2), np.nan)], axis=1)  # (L, P+1, 2)
    flat = padded.reshape(-1, 2)
    return flat[:, 0], flat[:, 1]


def gan_lab_canvas(canvas, layers, height: int = 560) -> go.Figure:
    """The lab's picture: D's verdict as a purple-to-green heatmap under the noise grid's image,
    the real (green) and generated (purple) points and G's gradient arrows, each a layer."""
    import numpy as np

    figure = go.Figure()
    axis = canvas.surface_axis.numpy()
    if "D's verdict" in layers:
        figure.add_heatmap(x=axis, y=axis, z=canvas.surface.numpy(), zmin=0, zmax=1, colorscale="PRGn",
                           opacity=0.5, name="D's verdict", zsmooth="best",
                           colorbar={"title": {"text": "D says real", "side": "right"}, "len": 0.6, "thickness": 12},
                           hovertemplate="(%{x:.2f}, %{y:.2f}): D = %{z:.2f}<extra></extra>")
    if "noise grid through G" in layers:
        xs, ys = polylines(canvas.noise_lines)
        figure.add_scatter(x=xs, y=ys, mode="lines", line={"color": "rgba(118,42,131,0.45)", "width": 1},
                           name="noise grid through G", hoverinfo="skip")
    if "real data" in layers:
        figure.add_scattergl(x=canvas.real[:, 0].numpy(), y=canvas.real[:, 1].numpy(), mode="markers",
                             marker={"size": 4, "color": REAL_COLOUR, "opacity": 0.7}, name="real data")
    if "generated" in layers:
        figure.add_scattergl(x=canvas.generated[:, 0].numpy(), y=canvas.generated[:, 1].numpy(), mode="markers",
                             marker={"size": 4, "color": FAKE_COLOUR, "opacity": 0.8}, name="generated G(z)")
    if "G's gradient" in layers and len(canvas.arrows_from):
        import torch

        segments = torch.stack([canvas.arrows_from, canvas.arrows_to], dim=1)  # (A, 2 ends, 2)
        xs, ys = polylines(segments)
        sizes = np.tile([0, 7, 0], len(segments))  # an arrowhead at each segment's end only
        figure.add_scatter(x=xs, y=ys, mode="lines+markers", name="G's gradient", hoverinfo="skip",
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
    modes covered, against step: stacked panels sharing one step axis."""
    import numpy as np

    with_modes = any(row.get("modes") is not None for row in history)
    panels = [("D and G loss", ("d_loss", "g_loss")), ("D's mean verdict: D(x) and D(G(z))", ("d_real", "d_fake"))]
    if with_modes:
        panels.append(("modes covered", ("modes",)))
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
            name = TERM_NAMES.get(term, "modes covered")
            axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
            if term != "modes":
                figure.add_scatter(x=steps, y=values, mode="lines", line={"color": colours[term], "width": 1},
                                   opacity=0.25, showlegend=False, hoverinfo="skip", **axes)
                values = np.array(smooth(values.tolist(), 0.8))
            figure.add_scatter(x=steps, y=values, mode="lines", name=name, line={"color": colours[term]}, **axes)
        top = bottom - gap
    layout["yaxis2"].update(range=[0, 1])
    if with_modes:
        axis = {"range": [0, modes + 0.5], "dtick": max(1, modes // 4)} if modes else {"rangemode": "tozero"}
        layout["yaxis3"].update(axis)
    layout[f"xaxis{len(panels)}"]["title"] = "step"
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, uirevision="gan_lab_curves",
                         legend={"orientation": "h", "y": -0.14}, annotations=labels,
                         shapes=[{"type": "line", "xref": "x2 domain", "yref": "y2", "x0": 0, "x1": 1, "y0": 0.5,
                                  "y1": 0.5, "line": {"dash": "dot", "color": "grey", "width": 1}}], **layout)
    return figure
