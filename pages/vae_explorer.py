"""VAE latent explorer: every point of a 2-D latent plane decodes to an image."""

import inspect
import textwrap

import streamlit as st
import torch

from genmodels import losses
from genmodels.data import is_available
from genmodels.errors import ImageRejected
from genmodels.i18n import _
from genmodels.images import grid, prepare_image, strip
from genmodels.lessons import latent
from genmodels.models.vae import VAE
from genmodels.ui.cache import encoded_test_set, grid_picture, model_key
from genmodels.ui.render import code_map_picture, dataset_missing, latent_scatter, png_data_url
from genmodels.ui.state import model_choices, pick_model, run_through_the_app, shared_dataset

SPAN = 4.0  # the sliders and the scatter cover [-SPAN, SPAN] on both axes
NUDGE = 0.1
MAP_POINTS = 2000  # test codes drawn on the map (enough to see the clusters, light to redraw)

run_through_the_app()
st.title("VAE latent explorer")
st.write("A variational autoencoder maps every image to a small code z, and every code back to an image. "
         "Move through the 2-D code plane and watch the picture change smoothly: nearby codes decode to "
         "similar images, and there are no holes.")

choices = model_choices(("vae",))
if not choices:
    st.info("No VAE is available: train one on the **Train** page (family vae), then come back.")
    st.stop()
choice = pick_model("Model", choices, "vae_model", prefer=lambda c: c.name == "vae-fashion-2d")
model, info = choice.model, choice.info
key = model_key(choice)
dims = model.config.latent_dim
has_test_set = is_available(info.dataset)
if has_test_set:
    codes, test_labels, class_names = encoded_test_set(model, key, info.dataset)
st.caption(f"{info.name}: {info.model_config.arch.upper()} VAE with a {dims}-D latent space, trained on "
           f"{info.dataset or 'unknown data'}" + (f"; test negative ELBO {info.metrics['test_loss']:.1f} nats"
                                                  if "test_loss" in info.metrics else ""))

# --- which plane of the latent space we look at ---
if dims == 1:
    st.warning("This VAE has a 1-D latent space; the explorer needs at least 2 dimensions.")
    st.stop()
if dims == 2:
    plane, plane_key = latent.axis_plane(2), ("axes", 0, 1, -1)
else:
    mode = st.radio(f"This VAE has {dims} latent dimensions: look at", ["two of its dimensions", "a random plane"],
                    horizontal=True, key="vae_plane_mode")
    if mode == "two of its dimensions":
        pick_u, pick_v, pick_hold = st.columns(3)
        dim_u = pick_u.selectbox("Horizontal axis: dimension", range(dims), index=0, key="vae_dim_u")
        dim_v = pick_v.selectbox("Vertical axis: dimension", range(dims), index=1, key="vae_dim_v")
        hold = pick_hold.selectbox("The other dimensions are held at", ["0", "a test image's code"], key="vae_hold")
        held_index, origin = -1, None
        if hold != "0" and has_test_set:
            held_index = st.number_input("Test image whose code is held", 0, len(codes) - 1, 0, key="vae_hold_index")
            origin = codes[held_index]
        if dim_u == dim_v:
            st.warning("Pick two different dimensions.")
            st.stop()
        plane, plane_key = latent.axis_plane(dims, dim_u, dim_v, origin), ("axes", dim_u, dim_v, held_index)
    else:
        seed = st.number_input("Plane seed", 0, 10_000, 0, key="vae_plane_seed")
        plane, plane_key = latent.random_plane(dims, seed), ("random", seed)

# --- sliders, +/- buttons and a click on the map all move the same point ---
for slider in ("vae_z1", "vae_z2"):
    st.session_state.setdefault(slider, 0.0)


def clamp(value: float) -> float:
    return round(max(-SPAN, min(SPAN, value)), 2)


def on_map_click() -> None:
    points = st.session_state["vae_scatter"].selection.points
    if points:
        st.session_state["vae_z1"], st.session_state["vae_z2"] = clamp(points[0]["x"]), clamp(points[0]["y"])


def nudge(slider: str, delta: float) -> None:
    st.session_state[slider] = clamp(st.session_state[slider] + delta)


uploads: list[tuple[str, torch.Tensor]] = []  # (file name, prepared image (1, 28, 28)), at most two
with st.expander("Encode your own images"):
    files = st.file_uploader("One or two images (png, jpg, webp, bmp, gif): each is placed on the map, and two can "
                             "be interpolated below", type=["png", "jpg", "jpeg", "webp", "bmp", "gif"],
                             accept_multiple_files=True, key="vae_upload")
    for upload in files[:2]:
        try:
            prepared = prepare_image(upload.name, upload.getvalue())
        except ImageRejected as error:
            st.error(f"{error}. Try another picture.")
            continue
        steps = st.columns(len(prepared.steps) + 1)
        for column, (step_name, picture) in zip(steps, prepared.steps):
            column.image(picture, caption=step_name)
        steps[-1].image(grid(latent.reconstruct(model, prepared.tensor[None]), scale=4),
                        caption="what the VAE makes of it")
        uploads.append((upload.name, prepared.tensor))
    if len(files) > 2:
        st.warning(f"Only the first two of the {len(files)} images are used.")
uploaded_codes = [(name, latent.encode_means(model, image[None])[0]) for name, image in uploads]

@st.fragment
def explore() -> None:
    """The map, the sliders and the decoded image: a slider move reruns only this part. The image
    column is filled first and the picture travels inline, so it is on screen before the map's
    figure is built and redrawn, which costs far more than the decode (BENCHMARKS.md)."""
    map_column, image_column = st.columns([3, 2])
    z1, z2 = st.session_state["vae_z1"], st.session_state["vae_z2"]
    with image_column:
        for slider, axis in (("vae_z1", "z1 (horizontal)"), ("vae_z2", "z2 (vertical)")):
            st.slider(axis, -SPAN, SPAN, step=0.05, key=slider)
            minus, plus = st.columns(2)
            minus.button(f"- {NUDGE}", key=f"{slider}_minus", on_click=nudge, args=(slider, -NUDGE), width="stretch")
            plus.button(f"+ {NUDGE}", key=f"{slider}_plus", on_click=nudge, args=(slider, NUDGE), width="stretch")
        decoded = latent.decode(model, plane.point(z1, z2)[None])
        st.image(png_data_url(grid(decoded, padding=0, scale=10)),
                 caption=f"decoded from (z1, z2) = ({z1:.2f}, {z2:.2f})")
    with map_column:
        if has_test_set:
            extra = {}
            for name, code in uploaded_codes:
                extra[name] = tuple(plane.project(code[None])[0].tolist())
            shown = slice(0, MAP_POINTS)  # a subset keeps each redraw light
            st.plotly_chart(latent_scatter(plane.project(codes[shown]), test_labels[shown], class_names, (z1, z2),
                                           SPAN, extra),
                            key="vae_scatter", on_select=on_map_click, selection_mode="points")
            st.caption(f"{MAP_POINTS:,} encoded test images (posterior means), coloured by class. "
                       "Click anywhere to decode that point.")
        else:
            dataset_missing(info.dataset, _("Without its test set there is no map of the latent space."))


explore()

st.subheader("The whole plane at once")
n_column, span_column, spacing_column = st.columns(3)
n = n_column.slider("Images per side", 5, 30, 15, key="vae_grid_n")
span = span_column.slider("Range (+-)", 0.5, SPAN, 3.0, 0.5, key="vae_grid_span")
spacing = spacing_column.radio("Spacing", ["even", "quantile"], horizontal=True, key="vae_grid_spacing",
                               help="quantile: points at the Gaussian prior's quantiles, as in the classic Keras plot")
st.image(grid_picture(model, key, plane, plane_key, n, span, spacing),
         caption=f"top-left: ({-span:g}, {span:g}); bottom-right: ({span:g}, {-span:g})" if spacing == "even"
         else "Gaussian-quantile spacing: denser near the origin")

st.subheader("Interpolate between two images")
pairs = (["two test images"] if has_test_set else []) + (["your two images"] if len(uploaded_codes) == 2 else [])
if not pairs:
    st.info("Upload two images above to interpolate between them.")
else:
    source = st.radio("Between", pairs, horizontal=True, key="vae_interp_source")
    steps = st.slider("Steps", 3, 16, 10, key="vae_interp_steps")
    if source == "two test images":
        test_images = shared_dataset(info.dataset, "cpu").test_x
        first, second = st.columns(2)
        start = first.number_input("From test image", 0, len(test_images) - 1, 0, key="vae_interp_a")
        end = second.number_input("To test image", 0, len(test_images) - 1, 1, key="vae_interp_b")
        ends = (test_images[start], test_images[end]), (codes[start], codes[end])
    else:
        ends = (uploads[0][1], uploads[1][1]), (uploaded_codes[0][1], uploaded_codes[1][1])
    (image_a, image_b), (code_a, code_b) = ends
    decodes = latent.interpolate(model, code_a, code_b, steps)
    st.image(strip([image_a[None], decodes, image_b[None]], scale=3),
             caption="the first image, then decodes along the straight line between the two codes, then the second")

st.subheader("Samples from the prior")
seed = st.number_input("Seed", 0, 1_000_000, 0, key="vae_sample_seed")
samples = model.sample(32, generator=torch.Generator(device=next(model.parameters()).device).manual_seed(seed))
st.image(grid(samples.cpu(), columns=16, scale=2), caption="decodes of z ~ N(0, I)")

with st.expander("How it works: the ELBO, the reparameterisation trick and the KL term"):
    st.latex(r"\log p(x) \ge \mathrm{ELBO} = \mathbb{E}_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))")
    st.latex(r"z = \mu + \sigma \odot \varepsilon, \quad \varepsilon \sim \mathcal{N}(0, I)")
    st.code(textwrap.dedent(inspect.getsource(VAE.reparameterize)), language="python")
    st.latex(r"\mathrm{KL} = -\tfrac12 \sum_j \left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)")
    st.code(inspect.getsource(losses.gaussian_kl), language="python")
    st.write("Why no holes: the KL term pulls every image's posterior towards the same N(0, I), so the codes of "
             "the training images overlap and cover the region around the origin. A plain autoencoder has no such "
             "pull: its codes can sit anywhere, with empty gaps between them that decode to nonsense.")
    twins = [c for c in model_choices(("ae",)) if c.model.config.latent_dim == 2 and c.info.dataset == info.dataset]
    if twins and has_test_set and dims == 2:
        twin = twins[0]
        twin_codes, _labels, _names = encoded_test_set(twin.model, model_key(twin), info.dataset)
        twin_span = float(twin_codes[:MAP_POINTS].abs().max().ceil())
        st.markdown(f"**Side by side**: this VAE and the plain autoencoder *{twin.label}*, same test images "
                    "(coloured by class as in the map above), each on its own code plane, then each plane decoded "
                    "on a 12 x 12 grid.")
        vae_side, ae_side = st.columns(2)
        with vae_side:
            st.image(code_map_picture(codes[:MAP_POINTS], test_labels[:MAP_POINTS], SPAN),
                     caption=f"VAE: codes on [-{SPAN:g}, {SPAN:g}]^2, circles at 1 and 2 sigma of the prior")
            st.image(grid_picture(model, key, plane, plane_key, 12, 3.0, "even"), caption="VAE: decodes of [-3, 3]^2")
        with ae_side:
            st.image(code_map_picture(twin_codes[:MAP_POINTS], test_labels[:MAP_POINTS], twin_span, prior=False),
                     caption=f"autoencoder: codes on [-{twin_span:g}, {twin_span:g}]^2")
            st.image(grid_picture(twin.model, model_key(twin), latent.axis_plane(2), ("axes", 0, 1, -1), 12,
                                  twin_span, "even"),
                     caption=f"autoencoder: decodes of [-{twin_span:g}, {twin_span:g}]^2; the gaps decode to mush")
