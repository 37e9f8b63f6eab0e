"""Denoising lab: corrupt test images, watch a denoising autoencoder restore them, try your own."""

import inspect
import io

import plotly.graph_objects as go
import streamlit as st

from genmodels import corruption
from genmodels.errors import ImageRejected
from genmodels.i18n import _
from genmodels.images import grid, prepare_image, rows_grid
from genmodels.lessons.denoising import (
    DEFAULT_COMPARISON,
    DEFAULT_NOISE,
    FLAGGED_AT_LEAST,
    IDENTICAL_PSNR,
    NOISE_NAMES,
    NOISES,
    ROBUSTNESS_LEVELS,
    denoise,
)
from genmodels.metrics.frechet import embed
from genmodels.ui.cache import familiarity, familiarity_classifier, robustness_on
from genmodels.ui.render import chart_text, dataset_missing, plain
from genmodels.ui.state import model_choices, pick_model, run_through_the_app, test_split

BATCH = 8


def decibels(value: float) -> str:
    """A PSNR for people: identical images have no noise at all, so their PSNR is infinite."""
    return _("∞ (identical)") if value >= IDENTICAL_PSNR else f"{value:.1f}"


run_through_the_app()
st.title(_("Denoising lab"))
st.write(_("A denoising autoencoder is trained on corrupted images to reproduce the clean ones, so it learns "
           "what clothes look like rather than copying pixels. Add noise, and compare it with a plain "
           "autoencoder of the same shape that never saw noise."))

choices = model_choices(("dae", "ae"))
images_models = [c for c in choices if c.info.model_config.channels == 1 and c.info.model_config.image_size == 28]
if not images_models:
    st.info(_("No autoencoder is available: train a dae on the **Train** page, then come back."))
    st.stop()
chosen = pick_model(_("Denoiser"), images_models, "dn_model", prefer=lambda c: c.info.family == "dae")
others = [c for c in images_models if c is not chosen]
compared = None
if others:
    compared = pick_model(_("Compare with"), others, "dn_compare", prefer=lambda c: c.name == DEFAULT_COMPARISON)
    if not st.checkbox(_("Show the comparison"), value=True, key="dn_show_compare"):
        compared = None
models = {chosen.shown: chosen.model} | ({compared.shown: compared.model} if compared else {})

config = chosen.info.model_config
kind_column, level_column, seed_column = st.columns([2, 3, 1])
kind = kind_column.selectbox(_("Noise"), list(NOISES), index=list(NOISES).index(DEFAULT_NOISE),
                             format_func=lambda k: _(NOISES[k]), key="dn_kind")
level = level_column.slider(_("Test-time strength"), 0.0, 1.0, 0.5, 0.05, key="dn_level",
                            help=_("Training noise and test noise are separate: a model can be tested on noise "
                                   "it never saw in training."))
if config.corruption != "none":
    level_column.caption(_("**{model}** was trained with {noise} at {level}.", model=plain(chosen.info.name),
                           noise=_(NOISE_NAMES[config.corruption]), level=f"{config.noise_level:g}"))
else:
    level_column.caption(_("**{model}** was trained with no noise (a plain autoencoder).",
                           model=plain(chosen.info.name)))
seed = seed_column.number_input(_("Seed"), 0, 100_000, 0, key="dn_seed")

dataset = chosen.info.dataset
test_x = test_split(chosen)  # a dataset on disk, or the held-out part of the session's own upload
if test_x is not None:
    if st.button(_("New batch of test images"), key="dn_new_batch"):
        st.session_state["dn_batch_start"] = (st.session_state.get("dn_batch_start", 0) + BATCH) % len(test_x)
    start = st.session_state.get("dn_batch_start", 0) % len(test_x)
    result = denoise(models, test_x[start:start + BATCH], kind, level, seed)
    rows = [(_("clean"), result.clean), (_("noisy"), result.noisy)] + list(result.restored.items())
    st.image(rows_grid([images for _name, images in rows], scale=4), width="stretch",
             caption=_("rows: {names}", names=" / ".join(name for name, _images in rows)))
    # One row per measure, one column per image: narrow columns that fit the page.
    shown = len(result.clean)
    table = {"": []} | {str(i + 1): [] for i in range(shown)} | {_("mean"): []}
    for key, name in [("noisy", _("noisy")), *((model, model) for model in result.restored)]:
        for measure, values, form in (("PSNR (dB)", result.psnr[key], decibels),
                                      ("SSIM", result.ssim[key], lambda v: f"{v:.3f}")):
            table[""].append(f"{name} {measure}")
            for i, value in enumerate(values.tolist()):
                table[str(i + 1)].append(form(value))
            table[_("mean")].append(form(values.mean().item()))
    st.dataframe(table, hide_index=True, key="dn_table", width="stretch")

    st.subheader(_("Robustness: quality against noise level"))
    figure = go.Figure()
    for choice in [chosen] + ([compared] if compared else []):
        curve = robustness_on(choice, test_x, dataset, kind)
        figure.add_scatter(x=list(ROBUSTNESS_LEVELS), y=curve["model"], mode="lines+markers",
                           name=chart_text(choice.shown))
    figure.add_scatter(x=list(ROBUSTNESS_LEVELS), y=curve["noisy input"], mode="lines+markers",
                       name=_("noisy input"), line={"dash": "dot"})
    if config.corruption == kind:
        figure.add_vline(x=config.noise_level, line_dash="dash", annotation_text=_("training noise"))
    figure.add_vline(x=level, line_color="crimson", annotation_text=_("now"), annotation_position="bottom right")
    figure.update_layout(height=360, xaxis_title=_("test-time {noise}", noise=_(NOISES[kind])),
                         yaxis_title=_("mean PSNR (dB)"), margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         uirevision="robustness", xaxis={"range": [0, 1.02]})
    st.plotly_chart(figure, key="dn_robustness")
else:
    dataset_missing(dataset, _("Without its test images there is no robustness curve; upload your own images "
                               "below."))

st.subheader(_("Denoise your own images"))
invert = st.radio(_("Invert colours"), ["auto", "always", "never"], horizontal=True, key="dn_invert",
                  format_func=lambda k: {"auto": _("auto"), "always": _("always"), "never": _("never")}[k],
                  help=_("The models learned light objects on a dark background; auto inverts pictures whose "
                         "border is light."))
# No type=: Streamlit refuses other files in English only; prepare_image refuses them in the reader's language.
uploads = st.file_uploader(_("Images (png, jpg, webp, bmp, gif; several at once)"), accept_multiple_files=True,
                           key="dn_upload")
familiar = familiarity(dataset) if test_x is not None and uploads else None  # None: no classifier for the data
if uploads and familiar is not None:
    st.caption(_("Each picture is checked against the {dataset} images: a feature classifier's distance from them, "
                 "against the distance under which 99% of test images fall. On other test images that flags "
                 "{test_rate}; on the shipped models it flags at least {photos} of photographs, {text} of text, "
                 "{drawings} of line drawings and {gradients} of gradients.", dataset=dataset,
                 test_rate=f"{familiar.held_out_flagged:.1%}", photos=f"{FLAGGED_AT_LEAST['photographs']:.0%}",
                 text=f"{FLAGGED_AT_LEAST['text']:.0%}", drawings=f"{FLAGGED_AT_LEAST['line drawings']:.0%}",
                 gradients=f"{FLAGGED_AT_LEAST['gradients']:.0%}"))
for upload in uploads:
    try:
        prepared = prepare_image(upload.name, upload.getvalue(), invert={"auto": None, "always": True,
                                                                          "never": False}[invert])
    except ImageRejected as error:
        st.error(plain(_("{error}. Try another picture.", error=error)))
        continue
    st.text(upload.name)  # a file name is plain text
    columns = st.columns(len(prepared.steps) + 2)
    for column, (step_name, picture) in zip(columns, prepared.steps):
        column.image(picture, caption=str(step_name))
    mine = denoise({chosen.shown: chosen.model}, prepared.tensor[None], kind, level, seed)
    restored = mine.restored[chosen.shown]
    columns[-2].image(grid(mine.noisy, padding=0, scale=4),
                      caption=_("noisy ({psnr} dB)", psnr=decibels(mine.psnr["noisy"][0].item())))
    columns[-1].image(grid(restored, padding=0, scale=4),
                      caption=_("denoised ({psnr} dB)", psnr=decibels(mine.psnr[chosen.shown][0].item())))
    picture = grid(restored, padding=0)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    st.download_button(_("Download the denoised {file} (28x28 PNG)", file=upload.name), buffer.getvalue(),
                       file_name=f"denoised-{upload.name.rsplit('.', 1)[0]}.png", mime="image/png",
                       key=f"dn_download_{upload.file_id}")
    if familiar is not None:
        ratio = familiar.ratios(embed(familiarity_classifier(dataset), prepared.tensor[None]))[0].item()
        if ratio > 1:
            st.warning(_("{file} looks unlike the {dataset} images this model was trained on: its feature distance "
                         "from them is {ratio}x the distance under which 99% of test images fall. A denoiser only "
                         "knows pictures like its training images, so do not expect a faithful restoration.",
                         file=plain(upload.name), dataset=dataset, ratio=f"{ratio:.1f}"))

with st.expander(_("How it works: corruption and the denoising objective")):
    st.latex(r"\tilde x = \mathrm{corrupt}(x), \qquad \min_\theta \; \mathrm{BCE}\big(g_\theta(f_\theta(\tilde x)),"
             r"\, x\big)")
    st.write(_("The encoder f only ever sees the corrupted image; the loss compares the decoder's output with the "
               "clean one. Copying the input would keep the noise, so the network has to learn what clean images "
               "look like (Vincent et al., 2008)."))
    st.code(inspect.getsource(corruption.gaussian), language="python")
    st.code(inspect.getsource(corruption.salt_pepper), language="python")
