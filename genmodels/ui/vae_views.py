"""What the VAE latent explorer draws: the interactive map of the encoded test set, still pictures of
code maps with their class legend, and the VAE beside a plain autoencoder with their holes measured."""

from __future__ import annotations

import html
import math

import plotly.graph_objects as go
import streamlit as st
import torch

from genmodels.errors import ImageRejected
from genmodels.i18n import _
from genmodels.images import grid, prepare_image
from genmodels.lessons import latent, vae_maps
from genmodels.ui.cache import code_plane_holes, encoded_test_set, grid_picture, model_key
from genmodels.ui.render import plain
from genmodels.ui.state import ModelChoice

# Plotly's default colours, one per class in class order: the interactive map and the still pictures
# both take a class's colour from here, so a class has the same colour everywhere on the page.
CLASS_COLOURS = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880",
                 "#FF97FF", "#FECB52")
# Your own images on the map: each its own symbol and colour, numbered as in the upload list.
UPLOAD_MARKERS = (("diamond", "black"), ("square", "#d62728"))


def class_colour(label: int) -> str:
    return CLASS_COLOURS[label % len(CLASS_COLOURS)]


def latent_scatter(coords, labels, class_names, current: tuple[float, float] | None, span: float,
                   uploads: list[tuple[str, tuple[float, float]]] = (), height: int = 520) -> go.Figure:
    """The encoded test set on the latent plane, one colour per class (CLASS_COLOURS), with the
    prior's 1- and 2-sigma circles, your images, the current point, and an invisible grid of points
    so that clicking an empty region also selects a place."""
    figure = go.Figure()
    steps = 25  # invisible click targets: a 25x25 lattice with markers big enough to tile the plane
    ticks = [-span + 2 * span * i / (steps - 1) for i in range(steps)]
    # WebGL like the codes: as 625 SVG markers the lattice made each redraw (every slider move) slow.
    figure.add_scattergl(x=[u for _u in ticks for u in ticks], y=[v for v in ticks for _v in ticks], mode="markers",
                         marker={"size": 22, "opacity": 0, "color": "white"}, hoverinfo="none", showlegend=False,
                         name=_("click target"))
    for index, name in enumerate(class_names):
        members = (labels == index).nonzero().flatten()
        if len(members) == 0:
            continue
        figure.add_scattergl(x=coords[members, 0].tolist(), y=coords[members, 1].tolist(), mode="markers",
                             marker={"size": 3, "opacity": 0.6, "color": class_colour(index)},
                             name=html.escape(str(name)))
    circle = [2 * math.pi * i / 100 for i in range(101)]
    for radius, dash in ((1, "dot"), (2, "dash")):
        figure.add_scatter(x=[radius * math.cos(t) for t in circle], y=[radius * math.sin(t) for t in circle],
                           mode="lines", line={"color": "grey", "dash": dash, "width": 1}, hoverinfo="skip",
                           name=_("prior N(0, I): {radius} sigma circle", radius=radius))
    for number, (name, (x, y)) in enumerate(uploads, start=1):
        symbol, colour = UPLOAD_MARKERS[(number - 1) % len(UPLOAD_MARKERS)]
        # A file name is the student's text: escaped, so Plotly shows it as it is, never as HTML.
        figure.add_scatter(x=[x], y=[y], mode="markers+text", text=[str(number)], textposition="top center",
                           marker={"size": 14, "symbol": symbol, "color": colour, "line": {"width": 1,
                                                                                           "color": "white"}},
                           name=_("your image {number}: {name}", number=number, name=html.escape(name)))
    if current is not None:
        figure.add_scatter(x=[current[0]], y=[current[1]], mode="markers", name=_("current z"),
                           marker={"size": 16, "symbol": "x", "color": "crimson", "line": {"width": 2}})
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, uirevision="latent",
                         xaxis={"range": [-span, span], "title": "z1"},
                         yaxis={"range": [-span, span], "title": "z2", "scaleanchor": "x"},
                         legend={"itemsizing": "constant"}, clickmode="event+select", dragmode="pan")
    return figure


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
        draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=class_colour(label))
    return picture


def class_legend(class_names) -> None:
    """The classes' colours as one line of coloured dots and names (the still pictures have no legend
    of their own). Class names may come from a student's folders: escaped."""
    items = [f"<span style='color:{class_colour(i)}'>\u25cf</span>\u00a0{html.escape(str(name))}"  # a dot, the name
             for i, name in enumerate(class_names)]
    st.markdown("\u2003".join(items), unsafe_allow_html=True)  # em spaces between classes


def side_by_side(vae: ModelChoice, twin: ModelChoice, codes, labels, class_names, span: float, shown: int) -> None:
    """This 2-D VAE and a 2-D plain autoencoder of the same data: their code maps, their decoded
    planes, and their holes, measured (vae_maps.holes) and shown, with words that follow the numbers."""
    twin_codes, _labels, _names = encoded_test_set(twin.model, model_key(twin), vae.info.dataset)
    twin_span = float(twin_codes[:shown].abs().max().ceil())
    st.markdown(_("**Side by side**: this VAE and the plain autoencoder *{name}*, same test images, coloured by "
                  "class as in the map above, each on its own code plane; then each plane decoded on a 12 x 12 "
                  "grid, and what each one's holes decode to.", name=plain(twin.name)))
    class_legend(class_names)
    ours, theirs = (code_plane_holes(choice.model, model_key(choice), vae.info.dataset) for choice in (vae, twin))
    vae_side, ae_side = st.columns(2)
    for column, choice, choice_codes, choice_span, prior, who, measured in (
            (vae_side, vae, codes, span, True, _("VAE"), ours),
            (ae_side, twin, twin_codes, twin_span, False, _("autoencoder"), theirs)):
        with column:
            circles = _(", circles at 1 and 2 sigma of the prior") if prior else ""
            st.image(code_map_picture(choice_codes[:shown], labels[:shown], choice_span, prior=prior),
                     caption=_("{who}: codes on [-{span}, {span}]^2{circles}", who=who, span=f"{choice_span:g}",
                               circles=circles))
            plane = latent.axis_plane(2)
            st.image(grid_picture(choice.model, model_key(choice), plane, ("axes", 0, 1, -1), 12, choice_span,
                                  "even"),
                     caption=_("{who}: decodes of [-{span}, {span}]^2", who=who, span=f"{choice_span:g}"))
            if len(measured.examples):
                st.image(grid(measured.examples, columns=len(measured.examples), scale=2),
                         caption=_("{who}: decodes of the {count} holes farthest from every test code", who=who,
                                   count=len(measured.examples)))
            st.caption(_("Holes (no test code within {radius}): {share} of the box where its codes lie. "
                         "Their decodes are {holes} from the nearest training image, against {codes} near "
                         "the codes (pixel distance).", radius=f"{measured.radius:.2f}", share=f"{measured.share:.0%}",
                         holes=f"{measured.in_holes:.2f}", codes=f"{measured.near_codes:.2f}"))
    st.markdown(holes_verdict(ours, theirs))


def holes_verdict(vae: vae_maps.Holes, autoencoder: vae_maps.Holes) -> str:
    """What the two measurements say, in words chosen by the numbers."""
    if autoencoder.share > vae.share and autoencoder.penalty > vae.penalty:
        return _("Measured: the autoencoder's codes leave more of their region empty ({ae} against the VAE's "
                 "{vae}), and what its holes decode to is farther from any real garment ({ae_penalty} "
                 "against {vae_penalty} for the VAE's holes): the KL term packs the VAE's codes together. "
                 "What the holes decode to is shown above.", ae=f"{autoencoder.share:.0%}", vae=f"{vae.share:.0%}",
                 ae_penalty=f"{autoencoder.penalty:+.0%}", vae_penalty=f"{vae.penalty:+.0%}")
    return _("Measured: here the autoencoder's codes leave {ae} of their region empty against the VAE's {vae}, "
             "and its holes decode {ae_penalty} farther from real garments than near its codes (the VAE: "
             "{vae_penalty}): on these two models the contrast the KL term is meant to make is not visible.",
             ae=f"{autoencoder.share:.0%}", vae=f"{vae.share:.0%}", ae_penalty=f"{autoencoder.penalty:+.0%}",
             vae_penalty=f"{vae.penalty:+.0%}")



def own_images(model) -> list[tuple[str, torch.Tensor]]:
    """The student's own images, at most two: each prepared (every step shown) and reconstructed by
    ``model``, numbered as on the map. Returns [(file name, prepared image (1, 28, 28))]."""
    uploads = []
    with st.expander(_("Encode your own images")):
        files = st.file_uploader(_("One or two images (png, jpg, webp, bmp, gif): each is placed on the map, and "
                                   "two can be interpolated below"),  # no type=: prepare_image's refusal is translated
                                 accept_multiple_files=True, key="vae_upload")
        for upload in files[:2]:
            try:
                prepared = prepare_image(upload.name, upload.getvalue())
            except ImageRejected as error:
                st.error(_("{error}. Try another picture.", error=error))
                continue
            # A file name is the student's text: plain text, never Markdown.
            st.text(_("Your image {number}: {name}", number=len(uploads) + 1, name=upload.name))
            steps = st.columns(len(prepared.steps) + 1)
            for column, (step_name, picture) in zip(steps, prepared.steps):
                column.image(picture, caption=str(step_name))
            steps[-1].image(grid(latent.reconstruct(model, prepared.tensor[None]), scale=4),
                            caption=_("what the VAE makes of it"))
            uploads.append((upload.name, prepared.tensor))
        if len(files) > 2:
            st.warning(_("Only the first two of the {count} images are used.", count=len(files)))
    return uploads
