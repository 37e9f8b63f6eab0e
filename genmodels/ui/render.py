"""Render helpers: a job's history as Plotly curves, snapshots as pictures, a sidebar status."""

from __future__ import annotations

import base64
import io
import re

import plotly.graph_objects as go
import streamlit as st

from genmodels.data import DATASETS
from genmodels.i18n import N_, _, listing, ngettext
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
COLOURS = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A")  # one per term: its raw and smoothed curves
# Markdown's special characters (CommonMark lets a backslash escape any ASCII punctuation), with ":"
# against links (http://...) and Streamlit's :red[...] and :icon: codes, "$" against LaTeX.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>$:~.])")


def plain(text) -> str:
    """``text`` (a model or file name a person typed) as Markdown that shows exactly those characters:
    no bold, no link, no HTML, no formula, on one line."""
    escaped = MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return "\\" + escaped if escaped.startswith("-") else escaped  # "- x" at a line's start: a list


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
        progress = {"name": name, "step": view.step, "total": view.total_steps,
                    "speed": f"{view.images_per_second:,.0f}", "elapsed": f"{view.elapsed:.0f}"}
        dataset = DATASETS.get(view.dataset)  # None for a zip of the student's own images
        if dataset is not None and dataset.kind == "points":  # a 2-D toy's examples are points, not images
            line = _("{name}: training, step {step}/{total}, {speed} points/s, {elapsed} s elapsed", **progress)
        else:
            line = _("{name}: training, step {step}/{total}, {speed} images/s, {elapsed} s elapsed", **progress)
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
    st.caption(ngettext("Started with: {settings} ({n} step)", "Started with: {settings} ({n} steps)", steps,
                        settings=plain(listing(f"{k} {v}" for k, v in settings.items())), n=steps))
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
