"""Train: pick a family and data, start a background run, watch the curves and pictures move."""

import inspect

import streamlit as st

from genmodels import losses
from genmodels.checkpoints import checkpoint_bytes
from genmodels.configs import LEARNING_RATES, TrainConfig
from genmodels.data import DATASETS, is_available
from genmodels.errors import GenLabError, ImageRejected
from genmodels.i18n import _
from genmodels.images import MIN_IMAGES, dataset_from_zip, grid
from genmodels.registry import listed_families, presets_for
from genmodels.runtime import resolve_device
from genmodels.serving.jobs import continue_job, start_job
from genmodels.ui.render import job_status_line, loss_figure, show_snapshot
from genmodels.ui.state import (
    begin_job,
    current_job,
    live_refresh,
    poll_job,
    run_through_the_app,
    session_models,
    shared_dataset,
)

FAMILIES = listed_families()  # every family but the Frechet feature classifier
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
FORMULAS = {
    "ae": (r"\mathcal{L} = \mathrm{BCE}(\hat x, x)", losses.bce_per_image),
    "sparse_ae": (r"\mathcal{L} = \mathrm{BCE}(\hat x, x) + \beta \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j)",
                  losses.sparsity_kl),
    "dae": (r"\mathcal{L} = \mathrm{BCE}(g(f(\tilde x)), x), \quad \tilde x = \mathrm{corrupt}(x)",
            losses.bce_per_image),
    "vae": (r"-\mathrm{ELBO} = \mathrm{BCE}(\hat x, x) + \beta\, \mathrm{KL}(q(z|x) \,\|\, \mathcal{N}(0, I))",
            losses.negative_elbo),
    "gan": (r"\mathcal{L}_D = -\log D(x) - \log(1 - D(G(z))), \quad \mathcal{L}_G = -\log D(G(z))",
            losses.discriminator_loss),
    "dcgan": (r"\mathcal{L}_D = -\log D(x) - \log(1 - D(G(z))), \quad \mathcal{L}_G = -\log D(G(z))",
              losses.generator_loss_nonsaturating),
    "ddpm": (r"\mathcal{L} = \lVert \epsilon - \epsilon_\theta(\sqrt{\bar\alpha_i}\,x_0"
             r" + \sqrt{1-\bar\alpha_i}\,\epsilon, i) \rVert^2", losses.noise_prediction_loss),
    "flow": (r"\mathcal{L} = \lVert (\epsilon - x_0) - v_\theta((1-t)\,x_0 + t\,\epsilon, t) \rVert^2",
             losses.flow_matching_loss),
}

run_through_the_app()
st.title("Train a model")
st.write("Pick a family and a dataset, keep the preset or change it, and start. Training runs in the "
         "background: the curves below update every second, and you can visit other pages meanwhile.")

family = st.selectbox("Model family", list(FAMILIES), format_func=lambda f: f"{FAMILIES[f].title} ({f})",
                      key="train_family")
spec, preset = FAMILIES[family], presets_for("train")[family]


def key(name: str) -> str:
    """Widget keys per family: each family starts from its own preset and keeps its own edits."""
    return f"train_{name}_{family}"


OWN_IMAGES = "your-images"
usable = [name for name, info in DATASETS.items() if info.kind in spec.data_kinds and is_available(name)]
if "image" in spec.data_kinds:
    usable.append(OWN_IMAGES)
dataset_name = st.selectbox(
    "Dataset", usable, index=usable.index(preset.dataset) if preset.dataset in usable else 0, key=key("dataset"),
    format_func=lambda n: "your own images: a zip of pictures, made 28x28 grey" if n == OWN_IMAGES
    else f"{n}: {DATASETS[n].description}")
own_dataset = None
if dataset_name == OWN_IMAGES:
    upload = st.file_uploader(f"A .zip of at least {MIN_IMAGES} images (png, jpg, webp, bmp, gif); images in "
                              "sub-folders are labelled by folder", type=["zip"], key="train_zip")
    if upload is None:
        st.info("Upload a zip to train on your own pictures. They are made grey, square and 28x28, and inverted "
                "when their background is light, like the built-in datasets.")
    else:
        cached = st.session_state.get("genlab_zip")
        if cached is None or cached[0] != upload.file_id:
            try:
                cached = (upload.file_id, dataset_from_zip(upload.getvalue()))
            except ImageRejected as error:
                cached = (upload.file_id, error)
            st.session_state["genlab_zip"] = cached
        result = cached[1]
        if isinstance(result, ImageRejected):
            st.error(f"{upload.name} cannot be used: {result}")
        else:
            own_dataset = result.dataset
            st.success(f"{result.images_found} images from {upload.name}: {len(own_dataset.train_x)} to train on, "
                       f"{len(own_dataset.test_x)} held out for testing; classes: {', '.join(own_dataset.class_names)}")
            st.image(grid(own_dataset.train_x[:32], columns=16, scale=2), caption="as the model will see them")
            if result.problems:
                with st.expander(f"{len(result.problems)} file(s) skipped"):
                    st.text("\n".join(result.problems))

with st.form("train_form"):
    left, right = st.columns(2)
    with left:
        epochs = st.number_input("Epochs", 1, 200, preset.train.epochs, key=key("epochs"))
        lr = st.select_slider("Learning rate", LEARNING_RATES, value=preset.train.lr, key=key("lr"),
                              format_func=lambda v: f"{v:g}")
        batch_size = st.select_slider("Batch size", BATCH_SIZES, value=preset.train.batch_size, key=key("batch"))
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key=key("seed"))
    overrides = dict(preset.model)
    with right:
        if family in ("ae", "sparse_ae", "dae", "vae"):
            default_arch = overrides.get("arch", "mlp")
            overrides["arch"] = st.radio("Architecture", ["mlp", "conv"], index=["mlp", "conv"].index(default_arch),
                                         horizontal=True, key=key("arch"))
            if overrides["arch"] != default_arch:
                overrides.pop("hidden", None)  # the registry picks widths that suit the other architecture
        if family in ("ddpm", "flow"):  # no latent code: the noise has the data's shape
            if family == "ddpm":
                overrides["schedule"] = st.selectbox(_("Noise schedule"), ["cosine", "linear"], key=key("schedule"))
        else:
            overrides["latent_dim"] = st.number_input("Latent size", 1, 256, overrides.get("latent_dim", 8),
                                                      key=key("latent"))
        if family == "vae":
            overrides["beta"] = st.slider("beta (weight on KL)", 0.0, 10.0, 1.0, 0.1, key=key("beta"))
        if family == "sparse_ae":
            overrides["sparsity_target"] = st.slider("rho (target activation)", 0.01, 0.5, 0.05, 0.01,
                                                     key=key("rho"))
            overrides["sparsity_weight"] = st.slider("beta (penalty weight)", 0.0, 10.0, 1.0, 0.1,
                                                     key=key("sparsity_weight"))
        if family == "dae":
            overrides["corruption"] = st.selectbox("Training noise", ["gaussian", "salt_pepper", "masking", "block"],
                                                   key=key("noise"))
            overrides["noise_level"] = st.slider("Noise level", 0.0, 1.0, 0.5, 0.05, key=key("noise_level"))
        if family in ("gan", "dcgan"):
            overrides["d_steps"] = st.number_input("D steps per G step", 1, 10, 1, key=key("d_steps"))
    name = st.text_input("Name for the trained model", f"my-{family}", max_chars=40, key=key("name"))
    started = st.form_submit_button("Start training", type="primary")

job = current_job()
if started:
    if job is not None and job.active:
        st.warning("This session is already training. Stop that run first (sidebar), then start again.")
    elif dataset_name == OWN_IMAGES and own_dataset is None:
        st.warning("Upload a zip of images first (above), or pick another dataset.")
    else:
        try:
            device = str(resolve_device("auto"))
            config = TrainConfig(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), seed=int(seed),
                                 log_every=preset.train.log_every, snapshot_every=preset.train.snapshot_every)
            dataset = own_dataset if dataset_name == OWN_IMAGES else shared_dataset(dataset_name, device)
            begin_job(start_job(family, dataset, config, name=name.strip() or family, **overrides))
        except GenLabError as error:
            st.error(f"Could not start: {error}")


def kept_model_of(job):
    """The session model this job produced, if it has been kept (not an older one of that name)."""
    kept = session_models().get(job.name) if job is not None else None
    return kept if kept is not None and kept.job is job else None


@st.fragment(run_every=live_refresh())
def live_progress() -> None:
    job, view = poll_job()
    if job is None:
        st.info("No run yet: press **Start training**.")
        return
    st.markdown(job_status_line(view))
    st.progress(view.progress)
    if view.state == "failed":
        st.error(view.message)
    chart, picture = st.columns([3, 2])
    with chart:
        if view.history:
            st.plotly_chart(loss_figure(view), key="train_loss_chart")
        else:
            st.caption("The loss curves appear after the first steps.")
    with picture:
        show_snapshot(view, key="train_points")
    if view.active:
        if st.button("Stop", key="train_stop"):
            job.stop()
    elif kept_model_of(job) is not None and st.session_state.get("train_final_shown") != job.id:
        # The run just ended: rerun the whole page once, so the part below the live view (kept
        # model, train more, download) is drawn outside this once-a-second fragment.
        st.session_state["train_final_shown"] = job.id
        st.rerun(scope="app")


live_progress()

job = current_job()
kept = kept_model_of(job)
if kept is not None and not job.active:
    st.success(f"The model is kept in this session as **{job.name}**; the lesson pages can use it.")
    more, download = st.columns(2)
    with more:
        if st.button("Train 2 more epochs", key="train_more"):
            begin_job(continue_job(job, epochs=2))
    with download:
        st.download_button("Download checkpoint (.safetensors)", checkpoint_bytes(kept.model, kept.info),
                           file_name=f"{job.name}.safetensors", key="train_download")

with st.expander("What is being optimised"):
    formula, function = FORMULAS[family]
    st.latex(formula)
    st.code(inspect.getsource(function), language="python")
