"""Autoencoders: what a bottleneck forces a network to learn, and what a sparsity penalty changes."""

import inspect

import plotly.graph_objects as go
import streamlit as st

from genmodels import losses
from genmodels.configs import TrainConfig
from genmodels.data import is_available
from genmodels.errors import GenLabError
from genmodels.i18n import _
from genmodels.images import grid, rows_grid
from genmodels.lessons.codes import ALWAYS_ON_ABOVE, DEAD_BELOW, decoder_features
from genmodels.lessons.denoising import PCA_SIZES
from genmodels.lessons.latent import reconstruct
from genmodels.metrics.image_quality import psnr
from genmodels.serving.jobs import start_job
from genmodels.ui.cache import code_statistics, model_key, pca_curve, reconstruction_psnr
from genmodels.ui.render import dataset_missing, job_status_line
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

DATASET = "fashion-mnist"
BATCH = 8

run_through_the_app()
st.title("Autoencoders")
st.write("An autoencoder squeezes each image through a small code and rebuilds it. With fewer numbers than "
         "pixels it cannot copy: it has to find the structure that clothes share. A sparse autoencoder adds a "
         "different pressure: most of its code units should be silent for any one image.")
if not is_available(DATASET):
    dataset_missing(DATASET, _("This lesson shows Fashion-MNIST's test images."))
    st.stop()
test_x = shared_dataset(DATASET, "cpu").test_x

# --- 1. reconstructions and codes ---
st.subheader("Reconstructions and codes")
plain = [c for c in model_choices(("ae", "sparse_ae")) if c.info.dataset == DATASET]
if not plain:
    st.info("No autoencoder trained on Fashion-MNIST is available: train one on the **Train** page.")
    st.stop()
chosen = pick_model("Autoencoder", plain, "ae_model", prefer=lambda c: c.name == "ae-mlp-32")
if st.button("New batch of test images", key="ae_new_batch"):
    st.session_state["ae_batch_start"] = (st.session_state.get("ae_batch_start", 0) + BATCH) % len(test_x)
start = st.session_state.get("ae_batch_start", 0)
originals = test_x[start:start + BATCH]
recon = reconstruct(chosen.model, originals)
errors = psnr(recon, originals)
st.image(rows_grid([originals, recon], scale=4), width="stretch",
         caption="top: test images; bottom: reconstructions. PSNR (dB): "
                 + ", ".join(f"{value:.1f}" for value in errors.tolist()))
picked = st.selectbox("Show the code of image", range(1, BATCH + 1), key="ae_code_image")
code = chosen.model.encode(originals[picked - 1:picked].to(next(chosen.model.parameters()).device))[0]
figure = go.Figure(go.Bar(x=list(range(len(code))), y=code.detach().float().cpu().tolist()))
figure.update_layout(height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title="code unit",
                     yaxis_title="value", title=f"the {len(code)}-number code of image {picked}")
st.plotly_chart(figure, key="ae_code_chart")

# --- 2. the bottleneck ---
st.subheader("The bottleneck: quality against code size")
curve = go.Figure()
curve.add_scatter(x=list(PCA_SIZES), y=pca_curve(DATASET, PCA_SIZES), mode="lines+markers",
                  name="PCA with k components (the best linear code)", line={"dash": "dot"})
for choice in plain:
    curve.add_scatter(x=[choice.model.config.latent_dim], y=[reconstruction_psnr(choice.model, model_key(choice),
                                                                                    DATASET)],
                      mode="markers", marker={"size": 12}, name=choice.label)
curve.update_layout(height=340, xaxis={"type": "log", "title": "code size k"}, yaxis_title="test PSNR (dB)",
                    margin={"l": 10, "r": 10, "t": 30, "b": 10})
st.plotly_chart(curve, key="ae_bottleneck")
st.caption("Each dot is an autoencoder; PCA is the reference. A nonlinear autoencoder can beat the best linear "
           "code of the same size; a wider code always reconstructs better, but learns less.")

# --- 3. the sparse autoencoder ---
st.subheader("Sparse autoencoder: what the penalty does to the code units")
sparse = [c for c in model_choices(("sparse_ae",)) if c.info.dataset == DATASET
          and c.model.config.arch == "mlp" and not c.model.config.hidden]
if not sparse:
    st.info("No single-layer sparse autoencoder is available: train one below.")
else:
    wanted = st.session_state.pop("ae_show_sparse", None)  # set when a run from this page finishes
    if wanted in [c.label for c in sparse]:
        st.session_state["ae_sparse_model"] = wanted
    model_choice = pick_model("Sparse autoencoder", sparse, "ae_sparse_model",
                              prefer=lambda c: c.model.config.sparsity_weight > 0)
    config = model_choice.model.config
    stats = code_statistics(model_choice.model, model_key(model_choice), DATASET)
    left, right = st.columns([3, 1])
    with left:
        bars = go.Figure(go.Bar(x=list(range(len(stats.mean_per_unit))), y=stats.mean_per_unit.tolist(),
                                name="mean activation"))
        bars.add_hline(y=config.sparsity_target, line_color="crimson",
                       annotation_text=f"rho = {config.sparsity_target:g}")
        bars.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title="code unit j",
                           yaxis_title="mean activation rho_hat_j",
                           title="each unit's mean activation over 2,000 images")
        st.plotly_chart(bars, key="ae_sparsity_bars")
    with right:
        st.metric("target rho", f"{config.sparsity_target:g}")
        st.metric("penalty weight beta", f"{config.sparsity_weight:g}")
        st.metric("mean activation", f"{stats.mean_per_unit.mean():.3f}")
        st.metric(f"dead units (< {DEAD_BELOW})", stats.dead)
        st.metric(f"always-on units (> {ALWAYS_ON_ABOVE})", stats.always_on)
    centres, counts = stats.histogram(50)  # binned on the server: 400,000 raw values would be slow to send
    histogram = go.Figure(go.Bar(x=centres, y=counts, width=1 / 50))
    histogram.update_layout(height=240, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_type="log",
                            xaxis_title="activation h_j", yaxis_title="count", title="all activations")
    st.plotly_chart(histogram, key="ae_histogram")

    st.markdown("**Learned features**: each unit's decoder weights, drawn as an image (the first 64 units).")
    twins = [c for c in sparse
             if c.model.config.sparsity_weight == 0 and c.model.config.latent_dim == config.latent_dim]
    columns = st.columns(2 if twins else 1)
    columns[0].image(grid(decoder_features(model_choice.model)[:64], columns=8, scale=2),
                     caption=f"{model_choice.label}: beta {config.sparsity_weight:g}", width="stretch")
    if twins:
        columns[1].image(grid(decoder_features(twins[0].model)[:64], columns=8, scale=2),
                         caption=f"{twins[0].label}: the same network without the penalty", width="stretch")

with st.form("ae_train_form"):
    st.markdown("**Train a sparse autoencoder with this rho and beta** (196 sigmoid units, a short run).")
    rho_column, beta_column, epochs_column = st.columns(3)
    rho = rho_column.slider("rho (target mean activation)", 0.01, 0.5, 0.05, 0.01, key="ae_rho")
    beta = beta_column.slider("beta (penalty weight)", 0.0, 10.0, 3.0, 0.5, key="ae_beta")
    epochs = epochs_column.number_input("Epochs", 1, 10, 2, key="ae_epochs")
    train = st.form_submit_button("Train")
if train:
    job = current_job()
    if job is not None and job.active:
        st.warning("This session is already training; stop that run first (sidebar).")
    else:
        try:
            job = start_job(
                "sparse_ae", shared_dataset(DATASET, "cpu"), TrainConfig(epochs=int(epochs), batch_size=128, lr=1e-3),
                name=f"sparse-rho{rho:g}-beta{beta:g}", latent_dim=196, sparsity_target=float(rho),
                sparsity_weight=float(beta))
            st.session_state["ae_waiting_for"] = job.id
            begin_job(job)
        except GenLabError as error:
            st.error(f"Could not start: {error}")


@st.fragment(run_every=live_refresh())
def sparse_run_status() -> None:
    job, view = poll_job()
    if job is None or st.session_state.get("ae_waiting_for") != job.id:
        return
    st.markdown(job_status_line(view))
    if view.active:
        st.progress(view.progress)
    elif view.state == "failed":
        st.error(view.message)
    else:  # finished: show the new model in the charts above
        st.session_state["ae_waiting_for"] = None
        st.session_state["ae_show_sparse"] = f"{job.name} (this session)"
        st.rerun(scope="app")


sparse_run_status()

with st.expander("The sparsity penalty, and why stacked is not sparse"):
    st.latex(r"\hat\rho_j = \frac{1}{B}\sum_{b=1}^{B} h_{bj}, \qquad "
             r"\Omega = \sum_j \rho \log\frac{\rho}{\hat\rho_j} + (1-\rho)\log\frac{1-\rho}{1-\hat\rho_j}")
    st.code(inspect.getsource(losses.sparsity_kl), language="python")
    st.write("The mean is taken per unit, over the batch: each unit should fire for a fraction rho of the images. "
             "Averaging over the whole code matrix instead would only ask the *average* unit to be quiet, and "
             "a few loud units could hide many dead ones.")
    st.write("**Stacked** means several hidden layers between image and code (784-256-128-32 here): depth. "
             "**Sparse** means a penalty on how often code units fire: a property of the activations. They are "
             "independent; an autoencoder can be either, both, or neither.")
