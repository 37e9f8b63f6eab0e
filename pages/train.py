"""Train: pick a family and data, start a background run, watch the curves and pictures move."""

import inspect
import math

import streamlit as st

from genmodels import losses
from genmodels.checkpoints import checkpoint_bytes
from genmodels.configs import LEARNING_RATES, TrainConfig
from genmodels.data import DATASETS, is_available
from genmodels.errors import GenLabError
from genmodels.i18n import _
from genmodels.lessons.denoising import NOISES
from genmodels.registry import listed_families, presets_for
from genmodels.runtime import resolve_device
from genmodels.serving.jobs import continue_job, start_job
from genmodels.ui.render import (
    ARCHITECTURES,
    MIN_USEFUL_STEPS,
    job_status_line,
    loss_figure,
    plain,
    show_snapshot,
    started_with,
)
from genmodels.ui.state import (
    begin_job,
    current_job,
    fresh_key,
    live_refresh,
    poll_job,
    run_through_the_app,
    session_models,
    shared_dataset,
)
from genmodels.ui.uploads import own_images

FAMILIES = listed_families()  # every family but the Frechet feature classifier
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
FORMULAS = {
    "ae": (r"\mathcal{L} = \mathrm{BCE}(\hat x, x)", losses.bce_per_image),
    "sparse_ae": (r"\mathcal{L} = \mathrm{BCE}(\hat x, x) + \beta \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j)",
                  losses.sparsity_kl),
    "dae": (r"\mathcal{L} = \mathrm{BCE}(g(f(\tilde x)), x), \quad \tilde x = \mathrm{corrupt}(x)",
            losses.bce_per_image),
    # BCE + beta KL is the negative ELBO only at beta = 1; otherwise it is the beta-VAE objective.
    "vae": (r"\mathcal{L}_\beta = \mathrm{BCE}(\hat x, x) + \beta\, \mathrm{KL}(q(z|x) \,\|\, \mathcal{N}(0, I))"
            r"\quad (\beta = 1:\ \mathcal{L}_1 = -\mathrm{ELBO})", losses.negative_elbo),
    "gan": (r"\mathcal{L}_D = -\log D(x) - \log(1 - D(G(z))), \quad \mathcal{L}_G = -\log D(G(z))",
            losses.discriminator_loss),
    "dcgan": (r"\mathcal{L}_D = -\log D(x) - \log(1 - D(G(z))), \quad \mathcal{L}_G = -\log D(G(z))",
              losses.generator_loss_nonsaturating),
    "ddpm": (r"\mathcal{L} = \lVert \epsilon - \epsilon_\theta(\sqrt{\bar\alpha_i}\,x_0"
             r" + \sqrt{1-\bar\alpha_i}\,\epsilon, i) \rVert^2", losses.noise_prediction_loss),
    "flow": (r"\mathcal{L} = \lVert (\epsilon - x_0) - v_\theta((1-t)\,x_0 + t\,\epsilon, t) \rVert^2",
             losses.flow_matching_loss),
}

OWN_IMAGES = "your-images"

run_through_the_app()
st.title(_("Train a model"))
st.write(_("Pick a family and a dataset, keep the preset or change it, and start. Training runs in the "
           "background: the curves below update every second, and you can visit other pages meanwhile."))

family = st.selectbox(_("Model family"), list(FAMILIES),
                      format_func=lambda f: _("{title} ({name})", title=FAMILIES[f].title, name=f),
                      key=fresh_key("train_family"))
spec, preset = FAMILIES[family], presets_for("train")[family]


def key(name: str) -> str:
    """Widget keys per family: each family starts from its own preset and keeps its own edits."""
    return fresh_key(f"train_{name}_{family}")


usable = [name for name, info in DATASETS.items() if info.kind in spec.data_kinds and is_available(name)]
if "image" in spec.data_kinds:
    usable.append(OWN_IMAGES)
dataset_name = st.selectbox(
    _("Dataset"), usable, index=usable.index(preset.dataset) if preset.dataset in usable else 0,
    key=key("dataset"), format_func=lambda n: _("your own images: a zip of pictures, made 28x28 grey")
    if n == OWN_IMAGES else _("{name}: {description}", name=n, description=DATASETS[n].description))
own_dataset = own_images() if dataset_name == OWN_IMAGES else None  # a zip's pictures, checked and previewed
n_train = len(own_dataset.train_x) if own_dataset is not None else (
    len(shared_dataset(dataset_name, "cpu").train_x) if dataset_name != OWN_IMAGES else 0)

# A form: nothing starts until the button is pressed (Enter in a number box does not submit it).
with st.form("train_form", enter_to_submit=False):
    left, right = st.columns(2)
    with left:
        epochs = st.number_input(_("Epochs"), 1, 200, preset.train.epochs, key=key("epochs"))
        lr = st.select_slider(_("Learning rate"), LEARNING_RATES, value=preset.train.lr, key=key("lr"),
                              format_func=lambda v: f"{v:g}")
        batch_size = st.select_slider(_("Batch size"), BATCH_SIZES, value=preset.train.batch_size, key=key("batch"))
        seed = st.number_input(_("Seed"), 0, 2**31 - 1, 0, key=key("seed"))
    overrides = dict(preset.model)
    with right:
        if family in ("ae", "sparse_ae", "dae", "vae"):
            default_arch = overrides.get("arch", "mlp")
            overrides["arch"] = st.radio(_("Architecture"), list(ARCHITECTURES), index=list(ARCHITECTURES).index(
                default_arch), horizontal=True, key=key("arch"), format_func=lambda a: _(ARCHITECTURES[a]))
            if overrides["arch"] != default_arch:
                overrides.pop("hidden", None)  # the registry picks widths that suit the other architecture
        if family in ("ddpm", "flow"):  # no latent code: the noise has the data's shape
            if family == "ddpm":
                overrides["schedule"] = st.selectbox(_("Noise schedule"), ["cosine", "linear"], key=key("schedule"))
        else:
            overrides["latent_dim"] = st.number_input(_("Latent size"), 1, 256, overrides.get("latent_dim", 8),
                                                      key=key("latent"))
        if family == "vae":
            overrides["beta"] = st.slider(_("beta (weight on KL)"), 0.0, 10.0, 1.0, 0.1, key=key("beta"))
        if family == "sparse_ae":
            overrides["sparsity_target"] = st.slider(_("rho (target activation)"), 0.01, 0.5, 0.05, 0.01,
                                                     key=key("rho"))
            overrides["sparsity_weight"] = st.slider(_("beta (penalty weight)"), 0.0, 10.0, 1.0, 0.1,
                                                     key=key("sparsity_weight"))
        if family == "dae":
            overrides["corruption"] = st.selectbox(_("Training noise"), list(NOISES), key=key("noise"),
                                                   format_func=lambda k: _(NOISES[k]))
            overrides["noise_level"] = st.slider(_("Noise level"), 0.0, 1.0, 0.5, 0.05, key=key("noise_level"))
        if family in ("gan", "dcgan"):
            overrides["d_steps"] = st.number_input(_("D steps per G step"), 1, 10, 1, key=key("d_steps"))
    name = st.text_input(_("Name for the trained model"), f"my-{family}", max_chars=40, key=key("name"))
    # The steps the form's values give (as last applied: a form sends its values when submitted).
    planned_batch, planned_epochs = st.session_state[key("batch")], st.session_state[key("epochs")]
    per_epoch = math.ceil(n_train / min(planned_batch, n_train)) if n_train else 0
    if n_train:
        sizes = {"n": f"{n_train:,}", "batch": planned_batch, "per_epoch": per_epoch, "epochs": planned_epochs,
                 "steps": f"{per_epoch * planned_epochs:,}"}
        if dataset_name in DATASETS and DATASETS[dataset_name].kind == "points":  # a 2-D toy: points, not images
            st.caption(_("{n} training points at batch size {batch}: one epoch is {per_epoch} steps, {epochs} epochs "
                         "are {steps} steps.", **sizes))
        else:
            st.caption(_("{n} training images at batch size {batch}: one epoch is {per_epoch} steps, {epochs} epochs "
                         "are {steps} steps.", **sizes))
    if n_train and per_epoch * planned_epochs < MIN_USEFUL_STEPS:
        st.warning(_("Fewer than {n} steps is too short to see much: take more epochs or a smaller batch.",
                     n=MIN_USEFUL_STEPS))
    started = st.form_submit_button(_("Start training"), type="primary", key="train_start")

job = current_job()
if started:
    if job is not None and job.active:
        st.warning(_("This session is already training. Stop that run first (sidebar), then start again."))
    elif dataset_name == OWN_IMAGES and own_dataset is None:
        st.warning(_("Upload a zip of images first (above), or pick another dataset."))
    else:
        try:
            device = str(resolve_device("auto"))
            config = TrainConfig(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), seed=int(seed),
                                 log_every=preset.train.log_every, snapshot_every=preset.train.snapshot_every)
            dataset = own_dataset if dataset_name == OWN_IMAGES else shared_dataset(dataset_name, device)
            begin_job(start_job(family, dataset, config, name=name.strip() or family, **overrides))
        except GenLabError as error:
            st.error(_("Could not start: {error}", error=plain(error)))


def kept_model_of(job):
    """The session model this job produced, if it has been kept (not an older one of that name)."""
    kept = session_models().get(job.name) if job is not None else None
    return kept if kept is not None and kept.job is job else None


@st.fragment(run_every=live_refresh())
def live_progress() -> None:
    job, view = poll_job()
    if job is None:
        st.info(_("No run yet: press **Start training**."))
        return
    st.markdown(job_status_line(view))
    started_with(job, view)
    st.progress(view.progress)
    if view.state == "failed":
        st.error(str(view.message))
    chart, picture = st.columns([3, 2])
    with chart:
        if view.history:
            st.plotly_chart(loss_figure(view), key="train_loss_chart")
        else:
            st.caption(_("The loss curves appear after the first steps."))
    with picture:
        show_snapshot(view, key="train_points")
    if view.active:
        if st.button(_("Stop"), key="train_stop"):
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
    st.success(_("The model is kept in this session as **{name}**; the lesson pages can use it.", name=plain(job.name)))
    more, download = st.columns(2)
    with more:
        if st.button(_("Train 2 more epochs"), key="train_more"):
            begin_job(continue_job(job, epochs=2))
    with download:
        st.download_button(_("Download checkpoint (.safetensors)"), checkpoint_bytes(kept.model, kept.info),
                           file_name=f"{job.name}.safetensors", key="train_download")

with st.expander(_("What is being optimised")):
    formula, function = FORMULAS[family]
    st.latex(formula)
    st.code(inspect.getsource(function), language="python")
