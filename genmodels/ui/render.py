"""Render helpers: a job's history as Plotly curves, snapshots as pictures, a sidebar status."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from genmodels.images import rows_grid
from genmodels.jobs import FAILED, QUEUED, RUNNING, STOPPED, JobView
from genmodels.metrics import smooth

# Loss terms, in the order and with the names a student reads them.
TERM_NAMES = {
    "loss": "total loss", "bce": "reconstruction (BCE)", "kl": "KL to the prior", "sparsity": "sparsity penalty",
    "d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))",
}


def loss_figure(view: JobView) -> go.Figure:
    figure = go.Figure()
    steps = [row["step"] for row in view.history]
    terms = [t for t in TERM_NAMES if view.history and t in view.history[0]]
    if set(terms) == {"loss", "bce"}:
        terms = ["loss"]  # a plain autoencoder's loss is its BCE: one curve, not two identical ones
    for term in terms:
        raw = [row[term] for row in view.history]
        figure.add_scatter(x=steps, y=raw, mode="lines", name=f"{TERM_NAMES[term]} (raw)", opacity=0.3,
                           legendgroup=term, showlegend=False, hoverinfo="skip")
        figure.add_scatter(x=steps, y=smooth(raw), mode="lines", name=TERM_NAMES[term], legendgroup=term)
    test_key = "test_loss"
    if view.epochs and test_key in view.epochs[0] and "loss" in terms:
        figure.add_scatter(x=[e["step"] for e in view.epochs], y=[e[test_key] for e in view.epochs],
                           mode="markers+lines", name="test loss (epoch end)", marker={"size": 9})
    figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title="step",
                         yaxis_title="loss per image" if "loss" in terms else "value", uirevision="loss",
                         legend={"orientation": "h", "y": -0.25})
    return figure


def show_snapshot(view: JobView, key: str) -> None:
    if not view.snapshots:
        st.caption("The first picture appears after a few hundred steps.")
        return
    shot = view.snapshots[-1]
    if shot.images is not None:
        st.image(rows_grid(fold_rows(shot.images), scale=3), caption=" / ".join(shot.rows) + f" (step {shot.step})",
                 width="stretch")
    else:
        points = shot.points
        figure = go.Figure(go.Scattergl(x=points[:, 0].tolist(), y=points[:, 1].tolist(), mode="markers",
                                        marker={"size": 3}, name="generated"))
        figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, uirevision="points",
                             title=f"generated points (step {shot.step})", xaxis={"range": [-3, 3]},
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
    if view.state == QUEUED:
        ahead = view.queue_position
        jobs = "job" if ahead == 1 else "jobs"
        return f"**{view.name}**: queued, {ahead} {jobs} ahead (the server trains a few at a time)"
    if view.state == RUNNING:
        eta = f", about {view.eta_seconds:.0f} s left" if view.eta_seconds is not None else ""
        return (f"**{view.name}**: training, step {view.step}/{view.total_steps}, "
                f"{view.images_per_second:,.0f} images/s, {view.elapsed:.0f} s elapsed{eta}")
    if view.state in (STOPPED, FAILED):
        return f"**{view.name}**: {view.state}: {view.message}"
    return f"**{view.name}**: {view.message}"


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
    figure.add_scatter(x=[u for _ in ticks for u in ticks], y=[v for v in ticks for _ in ticks], mode="markers",
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


# --------------------------------------------------------------------------------------------
# The 2-D GAN lab: one canvas of layers, and the curves beside it
# --------------------------------------------------------------------------------------------

GAN_LAB_LAYERS = ("real data", "generated", "D's verdict", "noise grid through G", "G's gradient")
REAL_COLOUR, FAKE_COLOUR = "#1b7837", "#762a83"  # green and purple, as in GAN Lab and PRGn


def polylines(lines) -> tuple[list, list]:
    """(L, P, 2) -> x and y lists with None between lines, so one trace draws them all."""
    xs, ys = [], []
    for line in lines.tolist():
        xs += [p[0] for p in line] + [None]
        ys += [p[1] for p in line] + [None]
    return xs, ys


def gan_lab_canvas(canvas, layers: tuple[str, ...] | list[str], height: int = 560) -> go.Figure:
    """The lab's picture: D's verdict as a purple-to-green heatmap under the noise grid's image,
    the real (green) and generated (purple) points and G's gradient arrows, each a layer."""
    figure = go.Figure()
    axis = canvas.surface_axis.tolist()
    if "D's verdict" in layers:
        figure.add_heatmap(x=axis, y=axis, z=canvas.surface.tolist(), zmin=0, zmax=1, colorscale="PRGn",
                           opacity=0.65, name="D's verdict", zsmooth="best",
                           colorbar={"title": {"text": "D says real", "side": "right"}, "len": 0.6, "thickness": 12},
                           hovertemplate="(%{x:.2f}, %{y:.2f}): D = %{z:.2f}<extra></extra>")
    if "noise grid through G" in layers:
        xs, ys = polylines(canvas.noise_lines)
        figure.add_scatter(x=xs, y=ys, mode="lines", line={"color": "rgba(118,42,131,0.45)", "width": 1},
                           name="noise grid through G", hoverinfo="skip")
    if "real data" in layers:
        figure.add_scattergl(x=canvas.real[:, 0].tolist(), y=canvas.real[:, 1].tolist(), mode="markers",
                             marker={"size": 4, "color": REAL_COLOUR, "opacity": 0.7}, name="real data")
    if "generated" in layers:
        figure.add_scattergl(x=canvas.generated[:, 0].tolist(), y=canvas.generated[:, 1].tolist(), mode="markers",
                             marker={"size": 4, "color": FAKE_COLOUR, "opacity": 0.8}, name="generated G(z)")
    if "G's gradient" in layers and len(canvas.arrows_from):
        xs, ys, sizes = [], [], []
        for (x0, y0), (x1, y1) in zip(canvas.arrows_from.tolist(), canvas.arrows_to.tolist()):
            xs += [x0, x1, None]
            ys += [y0, y1, None]
            sizes += [0, 7, 0]
        figure.add_scatter(x=xs, y=ys, mode="lines+markers", name="G's gradient", hoverinfo="skip",
                           line={"color": "#40004b", "width": 1},
                           marker={"symbol": "arrow", "angleref": "previous", "size": sizes, "color": "#40004b"})
    span = canvas.span
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, uirevision="gan_lab",
                         xaxis={"range": [-span, span], "zeroline": False},
                         yaxis={"range": [-span, span], "scaleanchor": "x", "zeroline": False},
                         legend={"orientation": "h", "y": -0.06, "itemsizing": "constant"},
                         plot_bgcolor="white")
    return figure


def gan_lab_curves(history: list[dict], height: int = 560) -> go.Figure:
    """D and G losses, D(x) and D(G(z)), and (for ring and grid) the modes covered, against step."""
    from plotly.subplots import make_subplots

    with_modes = any(row.get("modes") is not None for row in history)
    rows = 3 if with_modes else 2
    titles = ("losses", "D's mean verdict", "modes covered")[:rows]
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=titles,
                           row_heights=[0.4, 0.35, 0.25][:rows])
    colours = {"d_loss": "#1f77b4", "g_loss": "#ff7f0e", "d_real": REAL_COLOUR, "d_fake": FAKE_COLOUR, "modes": "black"}
    for row_index, terms in enumerate((("d_loss", "g_loss"), ("d_real", "d_fake"), ("modes",))[:rows], start=1):
        for term in terms:
            points = [(row["step"], row[term]) for row in history if row.get(term) is not None]
            steps, values = [p[0] for p in points], [p[1] for p in points]
            name = TERM_NAMES.get(term, "modes covered")
            if term != "modes":
                figure.add_scatter(x=steps, y=values, mode="lines", line={"color": colours[term], "width": 1},
                                   opacity=0.25, showlegend=False, hoverinfo="skip", row=row_index, col=1)
                values = smooth(values, 0.8)
            figure.add_scatter(x=steps, y=values, mode="lines", name=name, line={"color": colours[term]},
                               row=row_index, col=1)
    figure.add_hline(y=0.5, line_dash="dot", line_color="grey", row=2, col=1)
    figure.update_yaxes(range=[0, 1], row=2, col=1)
    if with_modes:
        figure.update_yaxes(rangemode="tozero", row=3, col=1)
    figure.update_xaxes(title_text="step", row=rows, col=1)
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, uirevision="gan_lab_curves",
                         legend={"orientation": "h", "y": -0.12})
    return figure
