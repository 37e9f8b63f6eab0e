"""Compare: every generative family on the same data, side by side: a 2-D toy trained on the spot,
then the shipped Fashion-MNIST generators with one quality number, their speed and their size."""

import streamlit as st

from genmodels.errors import CheckpointError
from genmodels.i18n import _
from genmodels.images import grid
from genmodels.lessons.gan_lab import canvas_span
from genmodels.lessons.gan_lab_settings import TOY_DATASETS
from genmodels.ui import compare_views as views
from genmodels.ui.state import model_choices, run_through_the_app, shared_dataset

GENERATORS = ("vae", "gan", "dcgan", "ddpm", "flow")
TOY_STEPS = (500, 1000, 2000, 4000)

run_through_the_app()
st.title(_("Compare"))
st.write(_("The same data, every family: a GAN, a VAE, a diffusion model and a flow model learn the same 2-D toy "
           "for the same number of steps; then the image generators of the lab draw garments side by side, each "
           "scored the same way."))

# --- on a toy ---
st.header(_("On a 2-D toy"))
with st.form("compare_toy"):
    left, middle, right = st.columns(3)
    dataset = left.selectbox(_("Data"), TOY_DATASETS, key="compare_toy_data")
    steps = middle.select_slider(_("Training steps, each"), TOY_STEPS, value=2000, key="compare_toy_steps")
    seed = right.number_input(_("Seed"), 0, 1_000_000, 0, key="compare_toy_seed")
    compared = st.form_submit_button(_("Train all four and compare"), type="primary")
if compared:
    st.session_state["compare_toy_run"] = (dataset, int(steps), int(seed))
if "compare_toy_run" in st.session_state:
    dataset, steps, seed = st.session_state["compare_toy_run"]
    with st.spinner(_("Training four models on {dataset} (once per server for these settings)...",
                      dataset=dataset)):
        results = views.toy_results(dataset, steps, seed)
    data = shared_dataset(dataset, "cpu")
    real, span = data.train_x[:1000], canvas_span(data)
    for column, result in zip(st.columns(len(results)), results):
        column.plotly_chart(views.toy_figure(result, real, span), key=f"compare_toy_{result.name}")
    st.dataframe(views.toy_table(results), hide_index=True)
    st.caption(_("The GAN is the 2-D GAN lab's balanced default; the VAE has two 128-unit layers each way, a 2-D "
                 "code and a Gaussian decoder (sigma 0.1), and shows its decoder's means for 1,000 codes drawn from "
                 "the prior; diffusion and flow are the Diffusion lab's default networks, sampled with 50 "
                 "deterministic steps. Each trained {steps} steps of 256 points from seed {seed}.",
                 steps=f"{steps:,}", seed=seed))
else:
    st.info(_("Pick a toy and press **Train all four and compare** (about a minute on a 2-core CPU for 2,000 "
              "steps each)."))

# --- on Fashion-MNIST ---
st.header(_("On Fashion-MNIST"))
choices = [c for c in model_choices(GENERATORS) if c.info.dataset == "fashion-mnist"
           and getattr(c.info.model_config, "data", "image") == "image"]
if not choices:
    st.info(_("No Fashion-MNIST generator is available yet: train one on the Train page."))
    st.stop()
if st.button(_("Score the generators"), key="compare_score", type="primary"):
    st.session_state["compare_scored"] = True
if not st.session_state.get("compare_scored"):
    st.info(_("{count} generators at hand. Scoring draws 5,000 samples from each VAE and GAN (the first time on "
              "this server: about a minute on a 2-core CPU); diffusion models bring the distance stored in their "
              "checkpoint.", count=len(choices)))
    st.stop()
try:
    rows = views.generator_rows(choices)
except CheckpointError as error:
    st.error(_("The feature classifier cannot be loaded: {error}", error=error))
    st.stop()
for row in rows:
    left, right = st.columns([1, 4])
    left.text(row["choice"].name)  # a session model's name is user text: plain
    left.caption(row["family"])
    right.image(grid(row["samples"], columns=16, scale=2))
st.dataframe(views.generator_table(rows), hide_index=True)
st.plotly_chart(views.generator_chart(rows), key="compare_chart")
st.caption(_("Frechet distance: between the features of the samples scored and of the 10,000 test images, on the "
             "lab's small Fashion-MNIST classifier (not `Inception-v3`, so not comparable with published FIDs). The "
             "floor is the same distance for as many real training images: what a perfect generator would score. "
             "Fewer samples give a higher distance and a higher floor, so compare each distance with its own floor. "
             "Sampling time: 16 images drawn now on this machine in one thread, with each model's default sampler and "
             "steps."))
