"""VAE latent explorer: every point of a 2-D latent plane decodes to an image."""

import inspect
import textwrap

import streamlit as st
import torch

from genmodels import losses
from genmodels.data import is_available
from genmodels.i18n import _
from genmodels.images import grid, strip
from genmodels.lessons import latent, vae_maps
from genmodels.models.vae import VAE
from genmodels.ui import vae_views
from genmodels.ui.cache import encoded_test_set, grid_picture, model_key
from genmodels.ui.render import dataset_missing, plain, png_data_url
from genmodels.ui.state import model_choices, pick_model, run_through_the_app, shared_dataset

SPAN = 4.0  # the sliders and the scatter cover [-SPAN, SPAN] on both axes
NUDGE = 0.1
MAP_POINTS = 2000  # test codes drawn on the map (enough to see the clusters, light to redraw)
Z = "vae_z"  # (z1, z2): the point shown, kept apart from the sliders' own state, which Streamlit
Z_MODEL = "vae_z_model"  # forgets whenever a run does not draw them; and the model it was set for

run_through_the_app()
st.title(_("VAE latent explorer"))
st.write(_("A variational autoencoder maps every image to a small code z, and every code back to an image. Move "
           "through the 2-D code plane and watch the picture change smoothly: nearby codes decode to similar "
           "images, also between the codes of the test images."))

choices = model_choices(("vae",))
if not choices:
    st.info(_("No VAE is available: train one on the **Train** page (family vae), then come back."))
    st.stop()
choice = pick_model(_("Model"), choices, "vae_model", prefer=lambda c: c.name == "vae-fashion-2d")
model, info = choice.model, choice.info
key = model_key(choice)
dims = model.config.latent_dim
has_test_set = is_available(info.dataset)
if has_test_set:
    codes, test_labels, class_names = encoded_test_set(model, key, info.dataset)
    start = vae_maps.start_index(model, codes)  # a test image whose code decodes to a clear picture
st.caption(_("{name}: {arch} VAE with a {dims}-D latent space, trained on {dataset}", name=plain(info.name),
             arch=info.model_config.arch.upper(), dims=dims, dataset=info.dataset or _("unknown data"))
           + (_("; test negative ELBO {loss} nats", loss=f'{info.metrics["test_loss"]:.1f}')
              if "test_loss" in info.metrics else ""))

# --- which plane of the latent space we look at ---
if dims == 1:
    st.warning(_("This VAE has a 1-D latent space; the explorer needs at least 2 dimensions."))
    st.stop()
collapsed = vae_maps.collapsed_dimensions(codes) if has_test_set else []
if dims == 2:
    plane, plane_key, shown_dims = latent.axis_plane(2), ("axes", 0, 1, -1), (0, 1)
else:
    if collapsed:
        st.info(_("{count} of the {dims} dimensions are collapsed (posterior collapse): their posterior mean varies "
                  "across the test images by less than {limit} (variance), so the KL term has pulled them onto "
                  "the prior and the decoder ignores them. Dimensions: {listed}.", count=len(collapsed), dims=dims,
                  limit=f"{vae_maps.ACTIVE_VARIANCE:g}", listed=", ".join(map(str, collapsed))))
    mode = st.radio(_("This VAE has {dims} latent dimensions: look at", dims=dims), ["axes", "random"],
                    format_func=lambda m: _("two of its dimensions") if m == "axes" else _("a random plane"),
                    horizontal=True, key="vae_plane_mode")
    if mode == "axes":
        first, second = vae_maps.informative_pair(codes) if has_test_set else (0, 1)  # the most varied two
        pick_u, pick_v, pick_hold = st.columns(3)
        dim_u = pick_u.selectbox(_("Horizontal axis: dimension"), range(dims), index=first, key="vae_dim_u")
        dim_v = pick_v.selectbox(_("Vertical axis: dimension"), range(dims), index=second, key="vae_dim_v")
        holds = ["image", "zero"] if has_test_set else ["zero"]
        hold = pick_hold.selectbox(_("The other dimensions are held at"), holds, key="vae_hold",
                                   format_func=lambda h: _("a test image's code") if h == "image" else "0")
        held_index, origin = -1, None
        if hold == "image":
            held_index = st.number_input(_("Test image whose code is held"), 0, len(codes) - 1, start,
                                         key="vae_hold_index")
            origin = codes[held_index]
        if dim_u == dim_v:
            st.warning(_("Pick two different dimensions."))
            st.stop()
        for dim in sorted({dim_u, dim_v} & set(collapsed)):
            st.warning(_("Dimension {dim} is collapsed: every test image has about the same code there, so along "
                         "this axis the map is a line and the picture hardly changes.", dim=dim))
        plane, plane_key, shown_dims = latent.axis_plane(dims, dim_u, dim_v, origin), ("axes", dim_u, dim_v,
                                                                                         held_index), (dim_u, dim_v)
    else:
        seed = st.number_input(_("Plane seed"), 0, 10_000, 0, key="vae_plane_seed")
        plane, plane_key, shown_dims = latent.random_plane(dims, seed), ("random", seed), None


def clamp(value: float) -> float:
    return round(max(-SPAN, min(SPAN, value)), 2)


if st.session_state.get(Z_MODEL) != key:  # a model seen for the first time: open on a clear picture
    opening = plane.project(codes[start][None])[0].tolist() if has_test_set else (0.0, 0.0)
    st.session_state[Z], st.session_state[Z_MODEL] = tuple(clamp(round(v * 20) / 20) for v in opening), key


def move_to(z1: float, z2: float) -> None:
    st.session_state[Z] = (clamp(z1), clamp(z2))


def on_map_click() -> None:
    points = st.session_state["vae_scatter"].selection.points
    if points:
        move_to(points[0]["x"], points[0]["y"])


def nudge(axis: int, delta: float) -> None:
    z = list(st.session_state[Z])
    z[axis] += delta
    move_to(*z)


uploads = vae_views.own_images(model)  # [(file name, prepared image (1, 28, 28))], at most two
uploaded_codes = [(name, latent.encode_means(model, image[None])[0]) for name, image in uploads]


@st.fragment
def explore() -> None:
    """The map, the sliders and the decoded image: a slider move, a +/- press or a click on the map
    reruns only this part. The image column is filled first and the picture travels inline, so it
    is on screen before the map's figure is built and redrawn, which costs far more than the decode
    (BENCHMARKS.md)."""
    map_column, image_column = st.columns([3, 2])
    z1, z2 = st.session_state[Z]
    with image_column:
        for axis, (slider, label) in enumerate((("vae_z1", _("z1 (horizontal)")), ("vae_z2", _("z2 (vertical)")))):
            st.session_state[slider] = st.session_state[Z][axis]  # the slider shows the kept point
            st.slider(label, -SPAN, SPAN, step=0.05, key=slider,
                      on_change=lambda: move_to(st.session_state["vae_z1"], st.session_state["vae_z2"]))
            minus, plus = st.columns(2)
            minus.button(f"- {NUDGE}", key=f"{slider}_minus", on_click=nudge, args=(axis, -NUDGE), width="stretch")
            plus.button(f"+ {NUDGE}", key=f"{slider}_plus", on_click=nudge, args=(axis, NUDGE), width="stretch")
        decoded = latent.decode(model, plane.point(z1, z2)[None])
        st.image(png_data_url(grid(decoded, padding=0, scale=10)),
                 caption=_("decoded from (z1, z2) = ({z1}, {z2})", z1=f"{z1:.2f}", z2=f"{z2:.2f}"))
        if shown_dims is not None:
            st.caption(_("z1 is dimension {u} of the code, z2 dimension {v}.", u=shown_dims[0], v=shown_dims[1]))
    with map_column:
        if has_test_set:
            mine = [(name, tuple(plane.project(code[None])[0].tolist())) for name, code in uploaded_codes]
            shown = slice(0, MAP_POINTS)  # a subset keeps each redraw light
            st.plotly_chart(vae_views.latent_scatter(plane.project(codes[shown]), test_labels[shown], class_names,
                                                     (z1, z2), SPAN, mine),
                            key="vae_scatter", on_select=on_map_click, selection_mode="points")
            st.caption(_("{count} encoded test images (posterior means), coloured by class. Click anywhere to "
                         "decode that point.", count=f"{MAP_POINTS:,}"))
        else:
            dataset_missing(info.dataset, _("Without its test set there is no map of the latent space."))


explore()

st.subheader(_("The whole plane at once"))
n_column, span_column, spacing_column = st.columns(3)
n = n_column.slider(_("Images per side"), 5, 30, 15, key="vae_grid_n")
span = span_column.slider(_("Range (+-)"), 0.5, SPAN, 3.0, 0.5, key="vae_grid_span")
spacing = spacing_column.radio(_("Spacing"), ["even", "quantile"], horizontal=True, key="vae_grid_spacing",
                               format_func=lambda s: _("even") if s == "even" else _("quantile"),
                               help=_("quantile: points at the Gaussian prior's quantiles, as in the classic Keras "
                                      "plot"))
st.image(grid_picture(model, key, plane, plane_key, n, span, spacing),
         caption=_("top-left: ({low}, {high}); bottom-right: ({high}, {low})", low=f"{-span:g}", high=f"{span:g}")
         if spacing == "even" else _("Gaussian-quantile spacing: denser near the origin"))

st.subheader(_("Interpolate between two images"))
pairs = (["test"] if has_test_set else []) + (["yours"] if len(uploaded_codes) == 2 else [])
if not pairs:
    st.info(_("Upload two images above to interpolate between them."))
else:
    source = st.radio(_("Between"), pairs, horizontal=True, key="vae_interp_source",
                      format_func=lambda p: _("two test images") if p == "test" else _("your two images"))
    steps = st.slider(_("Steps"), 3, 16, 10, key="vae_interp_steps")
    if source == "test":
        test_images = shared_dataset(info.dataset, "cpu").test_x
        first, second = st.columns(2)
        begin = first.number_input(_("From test image"), 0, len(test_images) - 1, 0, key="vae_interp_a")
        end = second.number_input(_("To test image"), 0, len(test_images) - 1, 1, key="vae_interp_b")
        ends = (test_images[begin], test_images[end]), (codes[begin], codes[end])
    else:
        ends = (uploads[0][1], uploads[1][1]), (uploaded_codes[0][1], uploaded_codes[1][1])
    (image_a, image_b), (code_a, code_b) = ends
    decodes = latent.interpolate(model, code_a, code_b, steps)
    st.image(strip([image_a[None], decodes, image_b[None]], scale=3),
             caption=_("the first image, then decodes along the straight line between the two codes, then the second"))

st.subheader(_("Samples from the prior"))
seed = st.number_input(_("Seed"), 0, 1_000_000, 0, key="vae_sample_seed")
samples = model.sample(32, generator=torch.Generator(device=next(model.parameters()).device).manual_seed(seed))
st.image(grid(samples.cpu(), columns=16, scale=2), caption=_("decodes of z ~ N(0, I)"))

with st.expander(_("How it works: the ELBO, the reparameterisation trick and the KL term")):
    st.latex(r"\log p(x) \ge \mathrm{ELBO} = \mathbb{E}_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))")
    st.latex(r"z = \mu + \sigma \odot \varepsilon, \quad \varepsilon \sim \mathcal{N}(0, I)")
    st.code(textwrap.dedent(inspect.getsource(VAE.reparameterize)), language="python")
    st.latex(r"\mathrm{KL} = -\tfrac12 \sum_j \left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)")
    st.code(inspect.getsource(losses.gaussian_kl), language="python")
    st.write(_("Why few holes: the KL term pulls every image's posterior towards the same N(0, I), so the codes of "
               "the training images overlap and crowd the region around the origin. A plain autoencoder has no such "
               "pull: its codes can sit anywhere, with empty gaps between them. Below, both are measured."))
    twins = [c for c in model_choices(("ae",)) if c.model.config.latent_dim == 2 and c.info.dataset == info.dataset]
    if twins and has_test_set and dims == 2:
        vae_views.side_by_side(choice, twins[0], codes, test_labels, class_names, SPAN, MAP_POINTS)
