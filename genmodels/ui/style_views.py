"""The style-transfer page's pieces: the feature networks (shared, read-only), picture pickers,
the live run (picture, curves, speed, Stop, PNG), the session's strip of results, the Gram
heatmaps and the formulas with their code."""

from __future__ import annotations

import inspect
import io

import plotly.graph_objects as go
import streamlit as st
import torch

from genmodels.errors import GenLabError
from genmodels.i18n import N_, _
from genmodels.images import strip, to_uint8
from genmodels.lessons import pictures, style_losses
from genmodels.lessons.style_transfer import gram_picture
from genmodels.models.features import FeatureNetwork, build_network, network_info
from genmodels.serving.jobs import FAILED, QUEUED, RUNNING
from genmodels.serving.style_jobs import StyleJob, StyleView
from genmodels.sources import weights
from genmodels.ui.render import png_data_url

RESULTS = "genlab_style_results"  # the session's finished pictures: list of (caption, (3, H, W) tensor)
MAX_RESULTS = 8
UPLOAD = "upload"


# --------------------------------------------------------------------------------------------
# Networks and pictures
# --------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def shared_network(name: str, seed: int = 0) -> FeatureNetwork:
    """One frozen copy per server and seed, shared by every session (never trained: only the
    pictures are optimised). Trained weights are hash-checked once, here."""
    state = None if name == "random" else weights.trained_state_dict(name)
    return build_network(name, seed=seed, state_dict=state)


def picture_url(image: torch.Tensor) -> str:
    """(3, H, W) in [0, 1] -> a PNG data URL for st.image."""
    return png_data_url(strip([image[None]], padding=0))


def network_ready(name: str) -> bool:
    return name == "random" or weights.local_file(name) is not None


def offer_download(name: str, key: str) -> None:
    """Ask before a download (VGG-19's file is about 550 MB), then show its progress."""
    info = network_info(name)
    st.info(_("{network} needs its ImageNet weights, about {size} MB, which are not on this server yet.",
              network=_(info.title), size=f"{info.download_mb:g}"))
    if st.button(_("Download the weights ({size} MB)", size=f"{info.download_mb:g}"), key=key):
        bar = st.progress(0.0, text=_("downloading..."))

        def progress(done: int, total: int) -> None:
            if total:
                bar.progress(min(1.0, done / total), text=f"{done / 2**20:.0f} / {total / 2**20:.0f} MiB")

        try:
            weights.download(name, progress)
            st.rerun()
        except GenLabError as error:
            st.error(str(error))


def picture_picker(side: str, label: str, default: str, names: dict[str, str]) -> tuple[torch.Tensor, str] | None:
    """A bundled picture or an upload, shown below the picker; (picture, its name), or None while
    an upload is awaited. A refused upload says why, and nothing else is lost."""
    options = [*names, UPLOAD]
    choice = st.selectbox(label, options, index=options.index(default), key=f"st_{side}_pick",
                          format_func=lambda name: _("your own picture") if name == UPLOAD else _(names[name]))
    if choice != UPLOAD:
        picture = pictures.bundled(choice)
        st.image(picture_url(picture), width=320)
        return picture, choice
    upload = st.file_uploader(_("Upload a picture (PNG, JPEG, WebP, BMP or GIF)"), key=f"st_{side}_upload",
                              type=["png", "jpg", "jpeg", "webp", "bmp", "gif"])
    if upload is None:
        st.caption(_("No picture uploaded yet."))
        return None
    try:
        picture = pictures.from_upload(upload.name, upload.getvalue())
    except GenLabError as error:
        st.error(str(error))
        return None
    st.image(picture_url(picture), width=320)
    st.text(upload.name)  # the user's file name: plain text, never Markdown
    return picture, upload.name


# --------------------------------------------------------------------------------------------
# The live run
# --------------------------------------------------------------------------------------------

def status_line(view: StyleView) -> str:
    if view.state == QUEUED:
        return _("Queued: {n} jobs ahead (the server runs a few at a time).", n=view.queue_position)
    if view.state == RUNNING:
        eta = view.eta_seconds
        return _("Step {step}/{total}, {speed} steps/s, {elapsed} s so far, about {eta} s left.", step=view.step,
                 total=view.total_steps, speed=f"{view.steps_per_second:.2f}", elapsed=f"{view.elapsed:.0f}",
                 eta="?" if eta is None else f"{eta:.0f}")
    return str(view.message)


def loss_chart(view: StyleView) -> go.Figure:
    """Total, content, style and each style layer's term against the step, on a log axis (the
    style terms fall by orders of magnitude)."""
    figure = go.Figure()
    steps = [row["step"] for row in view.history]
    names = {"total": _("total (weighted)"), "content": _("content"), "style": _("style")}
    layers = [key for key in (view.history[0] if view.history else {}) if key.startswith("style ")]
    for key in [*names, *layers]:
        values = [row[key] for row in view.history]
        if key == "content" and not any(values):
            continue  # texture synthesis: no content term
        name = names.get(key) or _("style at {layer}", layer=key.removeprefix("style "))
        figure.add_scatter(x=steps, y=values, mode="lines", name=name,
                           line={"dash": "dot", "width": 1} if key in layers else {"width": 2})
    figure.update_layout(height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title=_("step"),
                         yaxis_title=_("loss (log scale)"), yaxis_type="log", uirevision="style_loss",
                         legend={"orientation": "h", "y": -0.25})
    return figure


def png_bytes(image: torch.Tensor) -> bytes:
    """(3, H, W) in [0, 1] -> PNG file bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image[None])[0]).save(buffer, format="PNG")
    return buffer.getvalue()


def show_run(job: StyleJob) -> StyleView:
    """The job's picture, curves, speed and Stop; once finished, the PNG download."""
    view = job.view()
    st.markdown(status_line(view))
    st.progress(view.progress)
    if view.state == FAILED:
        st.error(str(view.message))
    picture, chart = st.columns([2, 3])
    with picture:
        if view.snapshot is not None:
            st.image(picture_url(view.snapshot.image), width="stretch",
                     caption=_("step {step}", step=view.snapshot.step))
        else:
            st.caption(_("The picture appears when the run starts."))
    with chart:
        if view.history:
            st.plotly_chart(loss_chart(view), key="st_loss_chart")
            first, last = view.history[0], view.history[-1]
            left, right = st.columns(2)
            left.metric(_("style loss"), f"{last['style']:.3g}", f"{last['style'] / first['style'] - 1:+.0%}"
                        if first["style"] else None, delta_color="inverse")
            right.metric(_("content loss"), f"{last['content']:.3g}")
        else:
            st.caption(_("The loss curves appear after the first step."))
    if view.active:
        if st.button(_("Stop"), key="st_stop"):
            job.stop()
    elif view.finished is not None:
        st.download_button(_("Download the picture (PNG)"), png_bytes(view.finished.image),
                           file_name=f"style-transfer-{-job.id}.png", mime="image/png", key="st_download")
    return view


def keep_result(job: StyleJob, caption: str) -> None:
    """Once per finished job: its picture joins the session's strip (the newest first)."""
    view = job.view()
    kept = st.session_state.setdefault(RESULTS, [])
    if view.finished is None or st.session_state.get("st_kept") == job.id:
        return
    st.session_state["st_kept"] = job.id
    kept.insert(0, (caption, view.finished.image))
    del kept[MAX_RESULTS:]


def results_strip() -> None:
    kept = st.session_state.get(RESULTS, [])
    if not kept:
        st.caption(_("Finished pictures of this session appear here."))
        return
    columns = st.columns(min(len(kept), 4))
    for index, (caption, image) in enumerate(kept):
        with columns[index % len(columns)]:
            st.image(picture_url(image), width="stretch")
            st.text(caption)


def layer_textures(jobs: dict[str, StyleJob]) -> None:
    """The one-layer texture syntheses side by side, each as soon as it is done."""
    if not jobs:
        return
    for column, (layer, job) in zip(st.columns(len(jobs)), jobs.items(), strict=True):
        view = job.view()
        if view.finished is not None:
            column.image(picture_url(view.finished.image), width="stretch")
        else:
            column.caption(status_line(view))
        column.caption(layer)
    st.caption(_("64 px, 60 steps each, all from the same noise: compare what each layer alone keeps of the style."))
    batch = tuple(job.id for job in jobs.values())
    if not any(job.active for job in jobs.values()) and st.session_state.get("st_layers_shown") != batch:
        st.session_state["st_layers_shown"] = batch
        st.rerun(scope="app")  # all done: redraw once with the timer off


# --------------------------------------------------------------------------------------------
# What the network sees; the formulas
# --------------------------------------------------------------------------------------------

def gram_heatmaps(network: FeatureNetwork, named_pictures: dict[str, torch.Tensor], layer: str) -> None:
    """The Gram matrix at ``layer`` of each picture, side by side on one colour scale."""
    grams = {name: gram_picture(network, picture, layer) for name, picture in named_pictures.items()}
    top = max(float(g.max()) for g in grams.values()) or 1.0
    for column, (name, gram) in zip(st.columns(len(grams)), grams.items(), strict=True):
        figure = go.Figure(go.Heatmap(z=gram.numpy(), zmin=0, zmax=top, colorscale="Viridis", showscale=False,
                                      hovertemplate="G[%{y}, %{x}] = %{z:.3g}<extra></extra>"))
        figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title=name,
                             yaxis={"autorange": "reversed", "scaleanchor": "x"})
        column.plotly_chart(figure, key=f"st_gram_{name}")


LOSS_FORMULAS = [
    (r"G^l = \frac{F^l (F^l)^\top}{C_l H_l W_l}", style_losses.gram_matrix,
     N_("The Gram matrix: how strongly each pair of feature channels fires together, averaged over positions. "
     "Where things are is forgotten; which textures occur is kept.")),
    (r"\mathcal{L}_{content} = \frac{1}{C H W} \sum_{c,i,j} \left(F_{cij}(x) - F_{cij}(p)\right)^2",
     style_losses.content_loss,
     N_("The content loss: the picture's features at one deep layer should equal the content picture's. "
     "Deep layers keep the objects and their layout, not the exact pixels.")),
    (r"\mathcal{L}_{style} = \sum_l w_l \sum_{i,j} \left(G^l_{ij}(x) - G^l_{ij}(a)\right)^2, \quad w_l = 1/|L|",
     style_losses.style_loss,
     N_("The style loss: the Gram matrices at several layers should equal the style picture's. Shallow layers "
     "carry colours and fine grain, deeper ones larger strokes and patterns.")),
    (r"\mathcal{L}_{tv} = \overline{(x_{c,i+1,j} - x_{c,i,j})^2} + \overline{(x_{c,i,j+1} - x_{c,i,j})^2}",
     style_losses.total_variation,
     N_("Total variation: neighbouring pixels should not differ much. A little of it removes speckle.")),
]


def formulas() -> None:
    st.latex(r"\mathcal{L}(x) = \alpha\,\mathcal{L}_{content}(x, p) + \beta\,\mathcal{L}_{style}(x, a) + "
             r"\gamma\,\mathcal{L}_{tv}(x)")
    st.markdown(_("The picture x is changed pixel by pixel to lower this sum; the network stays fixed. "
                  "$\\alpha$ is the content weight, $\\beta$ the style weight and $\\gamma$ the TV weight."))
    for formula, function, words in LOSS_FORMULAS:
        st.latex(formula)
        st.markdown(_(words))
        st.code(inspect.getsource(function), language="python")
