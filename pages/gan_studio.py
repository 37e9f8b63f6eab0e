"""GAN studio: the shipped DCGAN's samples at once, a GAN trained live beside its curves, and what
the curves and samples say (memorising? discriminator winning? mode collapse? oscillation?)."""


import streamlit as st

from genmodels.configs import LEARNING_RATES, TrainConfig
from genmodels.errors import GenLabError
from genmodels.i18n import _
from genmodels.images import rows_grid
from genmodels.registry import presets_for
from genmodels.runtime import resolve_device
from genmodels.serving.jobs import start_job
from genmodels.ui import gan_views
from genmodels.ui.gan_views import LOSS_NAMES
from genmodels.ui.render import fold_rows, job_status_line, loss_figure, plain
from genmodels.ui.state import (
    begin_job,
    current_job,
    live_refresh,
    model_choices,
    pick_model,
    poll_job,
    run_through_the_app,
    shared_dataset,
)

PRESETS = presets_for("gan_studio")
WIDTHS = [4, 8, 16, 32, 64, 128, 256, 512]

run_through_the_app()
st.title(_("GAN studio"))
st.write(_("A generator G turns random noise into images; a discriminator D scores images as real or fake. "
           "They train in turns, each against the other. Look at what the shipped DCGAN draws, then train your "
           "own and watch samples form from noise beside the two players' curves."))

# --------------------------------------------------------------------------------------------
# A trained generator: samples, interpolation, memorisation check, sample quality
# --------------------------------------------------------------------------------------------
choices = [c for c in model_choices(("gan", "dcgan")) if c.info.model_config.data == "image"]
if not choices:
    st.info(_("No image GAN is available yet: train one below, it appears here when it finishes."))
else:
    choice = pick_model(_("Generator"), choices, "gan_model", prefer=lambda c: c.name == "dcgan-fashion")
    model, info = choice.model, choice.info
    config = model.config
    st.caption(_("{name}: {arch} with {dims}-D noise, trained on {dataset}", name=plain(info.name),
                 arch="DCGAN" if config.arch == "conv" else "MLP GAN", dims=config.latent_dim,
                 dataset=info.dataset or _("unknown data")))
    gan_views.generator_tabs(choice)

# --------------------------------------------------------------------------------------------
# Train a GAN live
# --------------------------------------------------------------------------------------------
st.header(_("Train a GAN and watch it learn"))
preset_name = st.selectbox(_("Start from"), list(PRESETS), key="gan_preset",
                           format_func=lambda key: str(PRESETS[key].title),
                           help=_("The failures are on purpose: run one and see what the diagnostics below say."))
preset = PRESETS[preset_name]
st.caption(str(preset.note))
preset_key = list(PRESETS).index(preset_name)


def key(name: str) -> str:
    """Widget keys per preset, so choosing a preset loads its settings (and keeps edits per preset)."""
    return f"gan_{name}_{preset_key}"


def preset_width(player: str) -> int:
    return preset.model.get(f"{player}_hidden", preset.model.get("hidden", 256))


with st.form("gan_form"):
    left, middle, right = st.columns(3)
    with left:
        lr_g = st.select_slider(_("G learning rate"), LEARNING_RATES, value=preset.train.lr, key=key("lr_g"),
                                format_func=lambda v: f"{v:g}")
        lr_d = st.select_slider(_("D learning rate"), LEARNING_RATES, value=preset.train.lr_discriminator or
                                preset.train.lr, key=key("lr_d"), format_func=lambda v: f"{v:g}")
        d_steps = st.number_input(_("D steps per G step"), 1, 10, preset.model.get("d_steps", 1), key=key("d_steps"))
    with middle:
        g_width = st.select_slider(_("G width"), WIDTHS, value=preset_width("g"), key=key("g_width"),
                                   help=_("DCGAN: G's base channel count; MLP: units per hidden layer"))
        d_width = st.select_slider(_("D width"), WIDTHS, value=preset_width("d"), key=key("d_width"))
        loss = st.radio(_("Loss"), list(LOSS_NAMES), key=key("loss"), horizontal=True,
                        format_func=lambda v: _(LOSS_NAMES[v]))
    with right:
        epochs = st.number_input(_("Epochs"), 1, 20, preset.train.epochs, key=key("epochs"))
        seed = st.number_input(_("Seed"), 0, 2**31 - 1, 0, key=key("seed"))
        name = st.text_input(_("Name for the trained model"), f"my-{preset.family}", max_chars=40, key=key("name"))
    started = st.form_submit_button(_("Start training"), type="primary", key="gan_start")

if started:
    job = current_job()
    if job is not None and job.active:
        st.warning(_("This session is already training. Stop that run first (sidebar), then start again."))
    else:
        try:
            device = str(resolve_device("auto"))
            config = TrainConfig(epochs=int(epochs), batch_size=preset.train.batch_size, lr=float(lr_g),
                                 lr_discriminator=float(lr_d), seed=int(seed), log_every=preset.train.log_every,
                                 snapshot_every=preset.train.snapshot_every,
                                 snapshot_count=preset.train.snapshot_count)
            overrides = {**preset.model, "g_hidden": int(g_width), "d_hidden": int(d_width), "d_steps": int(d_steps),
                         "loss": loss}
            overrides.pop("hidden", None)
            job = start_job(preset.family, shared_dataset(preset.dataset, device), config,
                            name=name.strip() or preset.family, **overrides)
            begin_job(job)
        except GenLabError as error:
            st.error(_("Could not start: {error}", error=error))


@st.fragment(run_every=live_refresh())
def live_run() -> None:
    job, view = poll_job()
    if job is None or view.family not in ("gan", "dcgan") or job.dataset.kind != "image":
        st.info(_("No GAN run in this session yet: choose a preset and press **Start training**.") if job is None
                else _("This session's run ({name}, a {family}) is not an image GAN; it shows on the Train page.",
                       name=plain(view.name), family=view.family))
        return
    st.markdown(job_status_line(view))
    st.progress(view.progress)
    if view.state == "failed":
        st.error(str(view.message))
    curves, pictures = st.columns([3, 2])
    with curves:
        if view.history:
            st.plotly_chart(loss_figure(view, only=("d_loss", "g_loss"), y_title=_("loss")), key="gan_losses")
            st.plotly_chart(loss_figure(view, only=("d_real", "d_fake"), y_title=_("mean D output")),
                            key="gan_outputs")
            st.caption(_("Faint lines: the value logged at each step (raw); solid lines of the same colour: the same "
                         "values smoothed, to show the trend."))
        else:
            st.caption(_("The curves appear after the first steps."))
    with pictures:
        if view.snapshots:
            shot = view.snapshots[gan_views.timeline_index(len(view.snapshots), job.id)]
            st.image(rows_grid(fold_rows(shot.images), scale=3), width="stretch",
                     caption=_("samples from the same fixed noise, step {step}", step=shot.step))
        else:
            st.caption(_("The first samples appear after a few steps."))
        gan_views.show_findings(view)
    if view.active and st.button(_("Stop"), key="gan_stop"):
        job.stop()


live_run()

gan_views.explain_objective()
