"""Denoising lab: corrupt test images, watch a denoising autoencoder restore them, try your own."""

import inspect
import io

import plotly.graph_objects as go
import streamlit as st

from genmodels import corruption
from genmodels.data import is_available
from genmodels.errors import ImageRejected
from genmodels.i18n import _
from genmodels.images import grid, prepare_image, rows_grid
from genmodels.lessons.denoising import DEFAULT_NOISE, ROBUSTNESS_LEVELS, denoise, reconstruction_errors
from genmodels.ui.cache import model_key, robustness_curve, typical_error
from genmodels.ui.render import dataset_missing
from genmodels.ui.state import model_choices, pick_model, run_through_the_app, shared_dataset

NOISES = {"gaussian": "Gaussian noise (sigma)", "salt_pepper": "salt and pepper (fraction of pixels)",
          "masking": "masking (fraction of pixels set to 0)", "block": "block occlusion (side of the square)"}
BATCH = 8

run_through_the_app()
st.title("Denoising lab")
st.write("A denoising autoencoder is trained on corrupted images to reproduce the clean ones, so it learns "
         "what clothes look like rather than copying pixels. Add noise, and compare it with a plain "
         "autoencoder of the same shape that never saw noise.")

choices = model_choices(("dae", "ae"))
images_models = [c for c in choices if c.info.model_config.channels == 1 and c.info.model_config.image_size == 28]
if not images_models:
    st.info("No autoencoder is available: train a dae on the **Train** page, then come back.")
    st.stop()
chosen = pick_model("Denoiser", images_models, "dn_model", prefer=lambda c: c.info.family == "dae")
others = [c for c in images_models if c is not chosen]
compared = None
if others:
    compared = pick_model("Compare with", others, "dn_compare", prefer=lambda c: c.name == "ae-conv-fashion")
    if not st.checkbox("Show the comparison", value=True, key="dn_show_compare"):
        compared = None
models = {chosen.label: chosen.model} | ({compared.label: compared.model} if compared else {})

config = chosen.info.model_config
trained_at = (f"{NOISES[config.corruption].split(' (')[0]} at {config.noise_level:g}" if config.corruption != "none"
              else "no noise (a plain autoencoder)")
kind_column, level_column, seed_column = st.columns([2, 3, 1])
kind = kind_column.selectbox("Noise", list(NOISES), index=list(NOISES).index(DEFAULT_NOISE),
                            format_func=lambda k: NOISES[k], key="dn_kind")
level = level_column.slider("Test-time strength", 0.0, 1.0, 0.5, 0.05, key="dn_level",
                            help="Training noise and test noise are separate: a model can be tested on noise "
                                 "it never saw in training.")
level_column.caption(f"**{chosen.info.name}** was trained with {trained_at}.")
seed = seed_column.number_input("Seed", 0, 100_000, 0, key="dn_seed")

dataset = chosen.info.dataset
if is_available(dataset):
    test_x = shared_dataset(dataset, "cpu").test_x
    if st.button("New batch of test images", key="dn_new_batch"):
        st.session_state["dn_batch_start"] = (st.session_state.get("dn_batch_start", 0) + BATCH) % len(test_x)
    start = st.session_state.get("dn_batch_start", 0)
    result = denoise(models, test_x[start:start + BATCH], kind, level, seed)
    rows = [("clean", result.clean), ("noisy", result.noisy)] + list(result.restored.items())
    st.image(rows_grid([images for _, images in rows], scale=4),
             caption="rows: " + " / ".join(name for name, _ in rows), width="stretch")
    table = {"image": [str(i + 1) for i in range(BATCH)] + ["mean"]}
    for name in ["noisy", *result.restored]:
        table[f"{name} PSNR (dB)"] = [f"{v:.1f}" for v in result.psnr[name].tolist()] + [
            f"{result.psnr[name].mean():.2f}"]
        table[f"{name} SSIM"] = [f"{v:.3f}" for v in result.ssim[name].tolist()] + [f"{result.ssim[name].mean():.3f}"]
    st.dataframe(table, hide_index=True, key="dn_table")

    st.subheader("Robustness: quality against noise level")
    figure = go.Figure()
    for choice in [chosen] + ([compared] if compared else []):
        curve = robustness_curve(choice.model, model_key(choice), dataset, kind, ROBUSTNESS_LEVELS)
        figure.add_scatter(x=list(ROBUSTNESS_LEVELS), y=curve["model"], mode="lines+markers", name=choice.label)
    figure.add_scatter(x=list(ROBUSTNESS_LEVELS), y=curve["noisy input"], mode="lines+markers", name="noisy input",
                       line={"dash": "dot"})
    if config.corruption == kind:
        figure.add_vline(x=config.noise_level, line_dash="dash", annotation_text="training noise")
    figure.add_vline(x=level, line_color="crimson", annotation_text="now", annotation_position="bottom right")
    figure.update_layout(height=360, xaxis_title=f"test-time {NOISES[kind]}", yaxis_title="mean PSNR (dB)",
                         margin={"l": 10, "r": 10, "t": 30, "b": 10}, uirevision="robustness")
    st.plotly_chart(figure, key="dn_robustness")
else:
    dataset_missing(dataset, _("Without its test images there is no robustness curve; upload your own images "
                               "below."))

st.subheader("Denoise your own images")
invert = st.radio("Invert colours", ["auto", "always", "never"], horizontal=True, key="dn_invert",
                  help="The models learned light objects on a dark background; auto inverts pictures whose "
                       "border is light.")
uploads = st.file_uploader("Images (png, jpg, webp, bmp, gif; several at once)", accept_multiple_files=True,
                           type=["png", "jpg", "jpeg", "webp", "bmp", "gif"], key="dn_upload")
typical = typical_error(chosen.model, model_key(chosen), dataset) if is_available(dataset) else None
for upload in uploads:
    try:
        prepared = prepare_image(upload.name, upload.getvalue(), invert={"auto": None, "always": True,
                                                                          "never": False}[invert])
    except ImageRejected as error:
        st.error(f"{error}.")
        continue
    st.markdown(f"**{upload.name}**")
    columns = st.columns(len(prepared.steps) + 2)
    for column, (step_name, picture) in zip(columns, prepared.steps):
        column.image(picture, caption=step_name)
    mine = denoise({chosen.label: chosen.model}, prepared.tensor[None], kind, level, seed)
    restored = mine.restored[chosen.label]
    columns[-2].image(grid(mine.noisy, padding=0, scale=4), caption=f"noisy ({mine.psnr['noisy'][0]:.1f} dB)")
    columns[-1].image(grid(restored, padding=0, scale=4),
                      caption=f"denoised ({mine.psnr[chosen.label][0]:.1f} dB)")
    picture = grid(restored, padding=0)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    st.download_button(f"Download the denoised {upload.name} (28x28 PNG)", buffer.getvalue(),
                       file_name=f"denoised-{upload.name.rsplit('.', 1)[0]}.png", mime="image/png",
                       key=f"dn_download_{upload.file_id}")
    if typical is not None:
        error = reconstruction_errors(chosen.model, prepared.tensor[None])[0].item()
        if error > 2 * typical:
            st.warning(f"{upload.name} looks unlike the {dataset} images this model was trained on (its "
                       f"reconstruction error is {error / typical:.1f}x the test set's 99th percentile), so "
                       "expect mush rather than a restoration.")

with st.expander("How it works: corruption and the denoising objective"):
    st.latex(r"\tilde x = \mathrm{corrupt}(x), \qquad \min_\theta \; \mathrm{BCE}\big(g_\theta(f_\theta(\tilde x)),"
             r"\, x\big)")
    st.write("The encoder f only ever sees the corrupted image; the loss compares the decoder's output with the "
             "clean one. Copying the input would keep the noise, so the network has to learn what clean images "
             "look like (Vincent et al., 2008).")
    st.code(inspect.getsource(corruption.gaussian), language="python")
    st.code(inspect.getsource(corruption.salt_pepper), language="python")
