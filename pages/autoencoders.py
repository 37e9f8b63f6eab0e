"""Autoencoders: what a bottleneck forces a network to learn, and what a sparsity penalty changes."""

import inspect

import plotly.graph_objects as go
import streamlit as st

from genmodels import losses
from genmodels.configs import TrainConfig
from genmodels.data import is_available
from genmodels.errors import GenLabError
from genmodels.i18n import _, ngettext
from genmodels.images import grid, rows_grid
from genmodels.lessons.codes import ALWAYS_ON_ABOVE, DEAD_BELOW, against_pca, decoder_features, wider_but_worse
from genmodels.lessons.denoising import bottleneck_sizes
from genmodels.lessons.latent import reconstruct
from genmodels.metrics.image_quality import psnr
from genmodels.serving.jobs import start_job
from genmodels.ui.cache import code_statistics, model_key, pca_curve, reconstruction_psnr
from genmodels.ui.render import chart_text, dataset_missing, job_status_line, plain
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
SPARSITY_FORMULA = (r"\hat\rho_j = \frac{1}{B}\sum_{b=1}^{B} h_{bj}, \qquad \Omega = \sum_j \Big[\rho \log"
                    r"\frac{\rho}{\hat\rho_j} + (1-\rho)\log\frac{1-\rho}{1-\hat\rho_j}\Big]")

run_through_the_app()
st.title(_("Autoencoders"))
st.write(_("An autoencoder squeezes each image through a small code and rebuilds it. With fewer numbers than "
           "pixels it cannot copy: it has to find the structure that clothes share. A sparse autoencoder adds a "
           "different pressure: most of its code units should be silent for any one image."))
if not is_available(DATASET):
    dataset_missing(DATASET, _("This lesson shows Fashion-MNIST's test images."))
    st.stop()
test_x = shared_dataset(DATASET, "cpu").test_x

# --- 1. reconstructions and codes ---
st.subheader(_("Reconstructions and codes"))
autoencoders = [c for c in model_choices(("ae", "sparse_ae")) if c.info.dataset == DATASET]
if not autoencoders:
    st.info(_("No autoencoder trained on Fashion-MNIST is available: train one on the **Train** page."))
    st.stop()
chosen = pick_model(_("Autoencoder"), autoencoders, "ae_model", prefer=lambda c: c.name == "ae-mlp-32")
if st.button(_("New batch of test images"), key="ae_new_batch"):
    st.session_state["ae_batch_start"] = (st.session_state.get("ae_batch_start", 0) + BATCH) % len(test_x)
start = st.session_state.get("ae_batch_start", 0)
originals = test_x[start:start + BATCH]
recon = reconstruct(chosen.model, originals)
errors = psnr(recon, originals)
st.image(rows_grid([originals, recon], scale=4), width="stretch",
         caption=_("top: test images; bottom: reconstructions. PSNR (dB): {values}",
                   values=", ".join(f"{value:.1f}" for value in errors.tolist())))
picked = st.selectbox(_("Show the code of image"), range(1, BATCH + 1), key="ae_code_image")
code = chosen.model.encode(originals[picked - 1:picked].to(next(chosen.model.parameters()).device))[0]
figure = go.Figure(go.Bar(x=list(range(len(code))), y=code.detach().float().cpu().tolist()))
figure.update_layout(height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title=_("code unit"),
                     yaxis_title=_("value"), title=_("the {n}-number code of image {image}", n=len(code), image=picked))
st.plotly_chart(figure, key="ae_code_chart")

# --- 2. the bottleneck ---
st.subheader(_("The bottleneck: quality against code size"))
points = [(c.shown, c.model.config.latent_dim, reconstruction_psnr(c.model, model_key(c), DATASET), c.model.config,
           c.info.train_config.epochs if c.info.train_config else 0) for c in autoencoders]
sizes = bottleneck_sizes(size for _name, size, *_rest in points)
pca = dict(zip(sizes, pca_curve(DATASET, sizes)))  # PCA at the ladder's sizes and at every autoencoder's
results = against_pca(points, pca)
curve = go.Figure()
curve.add_scatter(x=list(sizes), y=list(pca.values()), mode="lines+markers", line={"dash": "dot"},
                  name=_("PCA with k components (the best linear code)"))
for result in results:
    curve.add_scatter(x=[result.code_size], y=[result.psnr], mode="markers", marker={"size": 12},
                      name=chart_text(result.name))
curve.update_layout(height=340, xaxis={"type": "log", "title": _("code size k")}, yaxis_title=_("test PSNR (dB)"),
                    margin={"l": 10, "r": 10, "t": 30, "b": 10})
st.plotly_chart(curve, key="ae_bottleneck")
# The words below are computed from the chart's own numbers (tests/test_autoencoder_claims.py pins them for
# the shipped models): who beats PCA of its own size, who does not, and what in each model explains it.
lines = []
for result in sorted(results, key=lambda r: (not r.beats_pca, r.code_size)):
    numbers = {"k": result.code_size, "psnr": f"{result.psnr:.1f}", "pca": f"{result.pca_psnr:.1f}"}
    verdict = (_("beats PCA at k = {k}: {psnr} dB against {pca} dB", **numbers) if result.beats_pca
               else _("falls below PCA at k = {k}: {psnr} dB against {pca} dB", **numbers))
    lines.append("- " + _("**{model}** {verdict}; {reasons}.", model=plain(result.name), verdict=verdict,
                          reasons=_("; ").join(str(reason) for reason in result.reasons)))
beaten = sum(r.beats_pca for r in results)
st.markdown(ngettext("Each dot is an autoencoder; its reference is PCA with as many components as its code. {n} of "
                     "{total} beats it:", "Each dot is an autoencoder; its reference is PCA with as many components "
                     "as its code. {n} of {total} beat it:", beaten, n=beaten, total=len(results))
            + "\n" + "\n".join(lines))
pair = wider_but_worse(results)
if pair is not None:
    wider, narrower = pair
    st.caption(_("A wider code is not by itself better: {wider} (k = {k_wide}, {wide} dB) reconstructs worse than "
                 "{narrower} (k = {k_narrow}, {narrow} dB). The PCA line does rise with k: more components never "
                 "hurt a linear code.", wider=plain(wider.name), k_wide=wider.code_size, wide=f"{wider.psnr:.1f}",
                 narrower=plain(narrower.name), k_narrow=narrower.code_size, narrow=f"{narrower.psnr:.1f}"))

# --- 3. the sparse autoencoder ---
st.subheader(_("Sparse autoencoder: what the penalty does to the code units"))
sparse = [c for c in model_choices(("sparse_ae",)) if c.info.dataset == DATASET
          and c.model.config.arch == "mlp" and not c.model.config.hidden]
if not sparse:
    st.info(_("No single-layer sparse autoencoder is available: train one below."))
else:
    wanted = st.session_state.pop("ae_show_sparse", None)  # set when a run from this page finishes
    if wanted in [c.label for c in sparse]:
        st.session_state["ae_sparse_model"] = wanted
    model_choice = pick_model(_("Sparse autoencoder"), sparse, "ae_sparse_model",
                              prefer=lambda c: c.model.config.sparsity_weight > 0)
    config = model_choice.model.config
    stats = code_statistics(model_choice.model, model_key(model_choice), DATASET)
    left, right = st.columns([3, 1])
    with left:
        bars = go.Figure(go.Bar(x=list(range(len(stats.mean_per_unit))), y=stats.mean_per_unit.tolist(),
                                name=_("mean activation")))
        bars.add_hline(y=config.sparsity_target, line_color="crimson",
                       annotation_text=f"ρ = {config.sparsity_target:g}")
        bars.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title=_("code unit j"),
                           yaxis_title=_("mean activation rho_hat_j"),
                           title=_("each unit's mean activation over 2,000 images"))
        st.plotly_chart(bars, key="ae_sparsity_bars")
    with right:
        st.metric(_("target rho"), f"{config.sparsity_target:g}")
        st.metric(_("penalty weight beta"), f"{config.sparsity_weight:g}")
        st.metric(_("mean activation"), f"{stats.mean_per_unit.mean():.3f}")
        st.metric(_("dead units (< {limit})", limit=DEAD_BELOW), stats.dead)
        st.metric(_("always-on units (> {limit})", limit=ALWAYS_ON_ABOVE), stats.always_on)
    centres, counts = stats.histogram(50)  # binned on the server: 400,000 raw values would be slow to send
    histogram = go.Figure(go.Bar(x=centres, y=counts, width=1 / 50))
    histogram.update_layout(height=240, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_type="log",
                            xaxis_title=_("activation h_j"), yaxis_title=_("count"), title=_("all activations"))
    st.plotly_chart(histogram, key="ae_histogram")

    st.markdown(_("**Learned features**: each unit's decoder weights, drawn as an image (the first 64 units)."))
    twins = [c for c in sparse
             if c.model.config.sparsity_weight == 0 and c.model.config.latent_dim == config.latent_dim]
    columns = st.columns(2 if twins else 1)
    columns[0].image(grid(decoder_features(model_choice.model)[:64], columns=8, scale=2),
                     caption=_("{model}: beta {beta}", model=plain(model_choice.shown),
                               beta=f"{config.sparsity_weight:g}"), width="stretch")
    if twins:
        columns[1].image(grid(decoder_features(twins[0].model)[:64], columns=8, scale=2),
                         caption=_("{model}: the same network without the penalty", model=plain(twins[0].shown)),
                         width="stretch")

with st.form("ae_train_form"):
    st.markdown(_("**Train a sparse autoencoder with this rho and beta** (196 sigmoid units, a short run)."))
    rho_column, beta_column, epochs_column = st.columns(3)
    rho = rho_column.slider(_("rho (target mean activation)"), 0.01, 0.5, 0.05, 0.01, key="ae_rho")
    beta = beta_column.slider(_("beta (penalty weight)"), 0.0, 10.0, 3.0, 0.5, key="ae_beta")
    epochs = epochs_column.number_input(_("Epochs"), 1, 10, 2, key="ae_epochs")
    train = st.form_submit_button(_("Train"), key="ae_train")
if train:
    job = current_job()
    if job is not None and job.active:
        st.warning(_("This session is already training; stop that run first (sidebar)."))
    else:
        try:
            job = start_job(
                "sparse_ae", shared_dataset(DATASET, "cpu"), TrainConfig(epochs=int(epochs), batch_size=128, lr=1e-3),
                name=f"sparse-rho{rho:g}-beta{beta:g}", latent_dim=196, sparsity_target=float(rho),
                sparsity_weight=float(beta))
            st.session_state["ae_waiting_for"] = job.id
            begin_job(job)
        except GenLabError as error:
            st.error(_("Could not start: {error}", error=error))


@st.fragment(run_every=live_refresh())
def sparse_run_status() -> None:
    job, view = poll_job()
    if job is None or st.session_state.get("ae_waiting_for") != job.id:
        return
    st.markdown(job_status_line(view))
    if view.active:
        st.progress(view.progress)
    elif view.state == "failed":
        st.error(str(view.message))
    else:  # finished: show the new model in the charts above
        st.session_state["ae_waiting_for"] = None
        st.session_state["ae_show_sparse"] = f"{job.name} (this session)"
        st.rerun(scope="app")


sparse_run_status()

with st.expander(_("The sparsity penalty, and why stacked is not sparse")):
    # As in losses.sparsity_kl's docstring: both terms inside the sum over units (tests/test_autoencoder_claims.py).
    st.latex(SPARSITY_FORMULA)
    st.code(inspect.getsource(losses.sparsity_kl), language="python")
    st.write(_("The mean is taken per unit, over the batch: each unit should fire for a fraction rho of the images. "
               "Averaging over the whole code matrix instead would only ask the *average* unit to be quiet, and "
               "a few loud units could hide many dead ones."))
    st.write(_("**Stacked** means several hidden layers between image and code (784-256-128-32 here): depth. "
               "**Sparse** means a penalty on how often code units fire: a property of the activations. They are "
               "independent; an autoencoder can be either, both, or neither."))
