"""Render helpers: a job's history as Plotly curves, snapshots as pictures, a sidebar status."""

from __future__ import annotations

import base64
import io
import re

import plotly.graph_objects as go
import streamlit as st

from genmodels.i18n import N_, _
from genmodels.images import rows_grid
from genmodels.metrics.curves import smooth
from genmodels.serving.jobs import FAILED, QUEUED, RUNNING, JobView
from genmodels.sources.fetch import how_to_get
from genmodels.sources.local import IDX_DATASETS

# Loss terms, in the order and with the names a student reads them (translated where shown).
TERM_NAMES = {
    "loss": N_("total loss"), "bce": N_("reconstruction (BCE)"), "kl": N_("KL to the prior"),
    "sparsity": N_("sparsity penalty"), "d_loss": N_("D loss"), "g_loss": N_("G loss"), "d_real": N_("D(x)"),
    "d_fake": N_("D(G(z))"),
}
COLOURS = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A")  # one per term: its raw and smoothed curves


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
    """The job's loss terms against the step, raw (faint) and smoothed, in the same colour and each
    named in the legend; ``only`` picks some terms (e.g. the GAN studio draws its losses and D's
    outputs on two charts)."""
    figure = go.Figure()
    steps = [row["step"] for row in view.history]
    terms = [t for t in TERM_NAMES if view.history and t in view.history[0] and (not only or t in only)]
    if set(terms) == {"loss", "bce"}:
        terms = ["loss"]  # a plain autoencoder's loss is its BCE: one curve, not two identical ones
    for index, term in enumerate(terms):
        raw, line = [row[term] for row in view.history], {"color": COLOURS[index % len(COLOURS)]}
        figure.add_scatter(x=steps, y=raw, mode="lines", name=_("{term} (raw)", term=_(TERM_NAMES[term])),
                           opacity=0.3, legendgroup=term, hoverinfo="skip", line={**line, "width": 1})
        figure.add_scatter(x=steps, y=smooth(raw), mode="lines", name=_("{term} (smoothed)", term=_(TERM_NAMES[term])),
                           legendgroup=term, line={**line, "width": 2})
    test_key = "test_loss"
    if view.epochs and test_key in view.epochs[0] and "loss" in terms:
        figure.add_scatter(x=[e["step"] for e in view.epochs], y=[e[test_key] for e in view.epochs],
                           mode="markers+lines", name=_("test loss (epoch end)"), marker={"size": 9})
    if terms and all(t in ("d_real", "d_fake") for t in terms):  # D's mean outputs: probabilities
        figure.add_hline(y=0.5, line={"dash": "dot", "color": "grey"}, annotation_text=_("D cannot tell (0.5)"))
        figure.update_yaxes(range=[0, 1])
    figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title=_("step"),
                         yaxis_title=y_title or (_("loss per image") if "loss" in terms else _("value")),
                         uirevision="loss", legend={"orientation": "h", "y": -0.25})
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
    if view.state == FAILED:
        return f"**{view.name}**: failed: {view.message}"
    return f"**{view.name}**: {view.message}"  # finished or stopped: the message says which ("stopped at step 56")


def png_data_url(picture) -> str:
    """A PIL picture as a ``data:image/png`` URL, for ``st.image``: the picture travels inside the
    page update itself, so the browser shows it without a second request to the server (which a
    busy server answers late, after the browser has started a long redraw of a chart)."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def literal(text: str) -> str:
    """``text`` (a name a person typed: a model, a file) made safe to put inside Markdown: every
    character Markdown or HTML acts on anywhere is escaped, and a start that would make a list or a
    heading ("- ", "1. ", "# "), so it shows exactly as typed."""
    escaped = "".join("\\" + c if c in "\\`*_{}[]()<>|~$:!" else c for c in str(text))
    return re.sub(r"^(\d*)([-+.#])", r"\1\\\2", escaped)
