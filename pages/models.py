"""Models: every model the session can use; upload, download, rename, delete, compare, reproduce."""

import dataclasses

import plotly.graph_objects as go
import streamlit as st
import torch

from genmodels import registry
from genmodels.checkpoints import MAX_CHECKPOINT_BYTES, checkpoint_bytes, read_checkpoint
from genmodels.data import is_available
from genmodels.errors import CheckpointError
from genmodels.i18n import L_, N_, _
from genmodels.images import grid, rows_grid
from genmodels.lessons.latent import reconstruct
from genmodels.models.common import parameter_count
from genmodels.reproduce import loading_script, train_command
from genmodels.ui.cache import model_key, test_metrics
from genmodels.ui.render import ARCHITECTURES, chart_text, plain
from genmodels.ui.state import (
    CHECKPOINT_DIR,
    SessionModel,
    is_training,
    model_choices,
    run_through_the_app,
    session_models,
    shared_dataset,
)

# The table's columns, marked for translation (the English ones are what tests read).
COLUMNS = {"model": N_("model"), "family": N_("family"), "elbo": N_("test -ELBO (nats)"),
           "frechet": N_("Frechet (floor)"), "arch": N_("architecture"), "dataset": N_("dataset"),
           "latent": N_("latent size"), "parameters": N_("parameters"), "size": N_("size"), "created": N_("created"),
           "training": N_("training")}

run_through_the_app()
st.title(_("Models"))
st.write(_("Every model you can use in this session: your own (trained or uploaded) first, then the ones shipped "
           "with the lab. Download any of them, bring your own checkpoints, and compare models on the same inputs."))


def metrics_of(choice) -> dict[str, float]:
    """Stored test metrics, completed by an evaluation on the test split when some are missing."""
    metrics = dict(choice.info.metrics)
    # A VAE is scored by its -ELBO, a model that reconstructs by PSNR/SSIM; generators (GANs, ddpm,
    # flow) have no test-split metric here (their Frechet distance is stored when measured).
    verbs = registry.family(choice.info.family).verbs
    wanted = (("test_loss",) if choice.info.family == "vae" else ("test_psnr", "test_ssim") if "reconstruct" in verbs
              else ())
    busy = choice.source == "session" and is_training(session_models()[choice.name])  # never evaluate mid-run
    available = is_available(choice.info.dataset)
    if any(k not in metrics for k in wanted) and available and not busy:
        seed = choice.info.train_config.seed if choice.info.train_config else 0
        metrics |= test_metrics(choice.model, model_key(choice), choice.info.family, choice.info.dataset, seed)
    return metrics


def size_label(choice) -> str:
    if choice.source == "shipped":
        return f"{(CHECKPOINT_DIR / f'{choice.name}.safetensors').stat().st_size / 2**20:.1f} MiB"
    tensor_bytes = sum(t.numel() * t.element_size() for t in choice.model.state_dict().values())
    return f"~{tensor_bytes / 2**20:.1f} MiB"


def own_first(choices):
    """The session's own models first (what a student just made), then the shipped ones."""
    return sorted(choices, key=lambda choice: choice.source != "session")


rows = []
for choice in own_first(model_choices(include_training=True)):
    info, config = choice.info, choice.info.model_config
    busy_now = choice.source == "session" and is_training(session_models()[choice.name])
    metrics = metrics_of(choice)
    train = info.train_config
    rows.append({
        COLUMNS["model"]: choice.shown, COLUMNS["family"]: info.family,
        COLUMNS["elbo"]: (round(metrics["test_loss"], 2) if info.family == "vae" and "test_loss" in metrics
                          else None),
        "PSNR (dB)": round(metrics["test_psnr"], 2) if "test_psnr" in metrics else None,
        "SSIM": round(metrics["test_ssim"], 3) if "test_ssim" in metrics else None,
        COLUMNS["frechet"]: (f"{metrics['frechet']:.2f} ({metrics.get('frechet_floor', float('nan')):.2f})"
                             if "frechet" in metrics else None),
        COLUMNS["arch"]: _(ARCHITECTURES[config.arch]) if getattr(config, "arch", "") in ARCHITECTURES else "",
        COLUMNS["dataset"]: info.dataset,
        COLUMNS["latent"]: getattr(config, "latent_dim", None),  # ddpm / flow have none
        COLUMNS["parameters"]: parameter_count(choice.model),
        COLUMNS["size"]: size_label(choice), COLUMNS["created"]: info.created_at.replace("T", " ")[:16],
        COLUMNS["training"]: (_("being trained right now") if busy_now
                              else _("{epochs} epochs, batch {batch}, lr {lr}", epochs=train.epochs,
                                     batch=train.batch_size, lr=f"{train.lr:g}") if train else ""),
    })
# A metric a family does not have shows as "—" (Streamlit's default "None" is English on every page).
st.dataframe([{_(k): v for k, v in row.items()} for row in rows], hide_index=True, key="models_table", placeholder="—")
st.caption(_("PSNR/SSIM: reconstructions of the test split (for a denoising AE, of inputs with its training noise). "
             "Frechet: a generator's samples against the test set on a small classifier's features (lower is "
             "better), with real training images' distance as the floor; measure a session's GAN on the GAN studio."))

st.subheader(_("Load a checkpoint"))
upload_cap_mib = min(MAX_CHECKPOINT_BYTES // 2**20, st.get_option("server.maxUploadSize"))
upload = st.file_uploader(_("A .safetensors file saved by the lab (at most {mib} MiB)", mib=upload_cap_mib),
                          key="models_upload")  # no type=: the checks below refuse in the reader's language
# Each upload is read once: a refusal is said on that run only, not again at every later click.
if upload is not None and st.session_state.get("models_loaded_upload") != upload.file_id:
    st.session_state["models_loaded_upload"] = upload.file_id
    try:
        if upload.size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(L_("the file is {size} MiB; checkpoints over {limit} MiB are refused",
                                     size=f"{upload.size / 2**20:.1f}", limit=MAX_CHECKPOINT_BYTES // 2**20))
        loaded = read_checkpoint(upload.getvalue())
    except CheckpointError as error:
        st.error(_("{file} was refused: {error}", file=plain(upload.name), error=plain(error)))
    else:
        name = base = loaded.info.name or upload.name.removesuffix(".safetensors")
        counter = 2
        while name in session_models():
            name, counter = f"{base}-{counter}", counter + 1
        session_models()[name] = SessionModel(model=loaded.model, info=loaded.info)
        st.session_state["models_flash"] = L_("Loaded {file} as **{name}** ({family}); every lesson page can use it "
                                              "now.", file=plain(upload.name), name=plain(name),
                                              family=loaded.info.family)
        st.rerun()  # redraw the table above with the new model
if "models_flash" in st.session_state:
    st.success(str(st.session_state.pop("models_flash")))

choices = own_first(model_choices())  # models being trained right now are listed above, but not offered below
if not choices:
    st.stop()
st.subheader(_("One model"))
labels, shown = [c.label for c in choices], {c.label: c.shown for c in choices}
if st.session_state.get("models_pick_next") in labels:  # e.g. the new name after a rename
    st.session_state["models_pick"] = st.session_state.pop("models_pick_next")
choice = choices[labels.index(st.selectbox(_("Model"), labels, key="models_pick", format_func=shown.get))]
file_name = f"{choice.name}.safetensors"
download, manage = st.columns(2)
with download:
    st.download_button(_("Download as .safetensors"), checkpoint_bytes(choice.model, choice.info), file_name=file_name,
                       key="models_download")
if choice.source == "session":
    current = choice.name
    with manage:
        new_name = st.text_input(_("Rename to"), current, max_chars=40, key=f"models_rename_to_{current}").strip()
        rename, delete = st.columns(2)
        if rename.button(_("Rename"), key="models_rename") and new_name and new_name != current:
            if new_name in session_models():
                st.error(_("A model called {name} already exists.", name=plain(new_name)))
            else:
                kept = session_models().pop(current)
                # The name lives in the checkpoint's metadata too (downloads, reproduce, captions).
                renamed = dataclasses.replace(kept.info, name=new_name)
                session_models()[new_name] = dataclasses.replace(kept, info=renamed)
                st.session_state["models_pick_next"] = f"{new_name} (this session)"
                st.rerun()
        if delete.button(_("Delete"), key="models_delete"):
            del session_models()[current]
            st.rerun()
with st.expander(_("Reproduce: retrain it, or load it in your own PyTorch code")):
    st.code(train_command(choice.info), language="bash")
    st.code(loading_script(choice.info, file_name), language="python")

st.subheader(_("Compare models"))
compared = [choices[labels.index(label)] for label in st.multiselect(
    _("Models to compare"), labels, format_func=shown.get, key="models_compare",
    placeholder=_("Pick two or more models"))]
if compared:
    histories = go.Figure()
    for item in compared:
        steps = [row.get("step", i) for i, row in enumerate(item.info.history)]
        key = next((k for k in ("loss", "d_loss") if item.info.history and k in item.info.history[0]), None)
        if key:
            histories.add_scatter(x=steps, y=[row[key] for row in item.info.history], mode="lines",
                                  name=chart_text(item.shown))
    histories.update_layout(height=320, xaxis_title=_("step"), yaxis_title=_("training loss"), margin={"t": 30})
    st.plotly_chart(histories, key="models_histories")

    images = [c for c in compared if c.info.family in ("ae", "sparse_ae", "dae", "vae")
              and is_available(c.info.dataset)]
    if images:
        test_x = shared_dataset(images[0].info.dataset, "cpu").test_x[:8]
        same = [c for c in images if c.info.dataset == images[0].info.dataset]
        rows_shown = [test_x] + [reconstruct(c.model, test_x) for c in same]
        st.image(rows_grid(rows_shown, scale=3), width="stretch",
                 caption=_("rows: test images, then {models} (same inputs)",
                           models=", ".join(plain(c.shown) for c in same)))
    samplers = [c for c in compared if c.info.family in ("vae", "gan", "dcgan") and c.info.dataset != ""]
    if samplers:
        seed = st.number_input(_("Seed for samples"), 0, 100_000, 0, key="models_seed")
        for item in samplers:
            device = next(item.model.parameters()).device
            samples = item.model.sample(8, generator=torch.Generator(device=device).manual_seed(int(seed)))
            if samples.dim() == 4:
                st.image(grid(samples.float().cpu(), columns=8, scale=3),
                         caption=_("{model}: samples, seed {seed}", model=plain(item.shown), seed=seed))
