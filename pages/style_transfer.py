"""Style transfer: a picture repainted in the style of another by optimising its pixels against a
fixed network's features (Gatys, Ecker and Bethge 2016); texture synthesis with the same code; and
what the network's Gram matrices see."""

import streamlit as st

from genmodels.errors import ConfigError, GenLabError
from genmodels.i18n import L_, _
from genmodels.lessons.pictures import PHOTOS, PICTURES, PROCEDURAL, TEXTURES
from genmodels.lessons.style_transfer import OPTIMIZERS, PRESETS, STARTS, STYLE_WEIGHTS, StyleConfig
from genmodels.models.features import NETWORKS, network_info
from genmodels.serving.style_jobs import StyleJob
from genmodels.ui import style_views as views
from genmodels.ui.state import LAYER_JOBS, STYLE_JOB, run_through_the_app

TV_WEIGHTS = (0.0, 0.1, 1.0, 10.0, 100.0)
SIZES = tuple(range(64, 513, 32))

run_through_the_app()
st.title(_("Style transfer"))
st.write(_("Neural style transfer (Gatys, Ecker and Bethge, 2016) repaints a content picture in the style of "
           "another: a fixed convolutional network describes both, and the pixels of a new picture are changed "
           "until its deep features match the content picture's and its Gram matrices match the style picture's."))

preset_name = st.selectbox(_("Preset"), list(PRESETS), key="st_preset", format_func=lambda k: _(PRESETS[k].title))
preset = PRESETS[preset_name]
st.caption(_(preset.note))
defaults = preset.config


def key(name: str) -> str:
    """Widget keys per preset, so choosing a preset loads its settings (and keeps edits per preset)."""
    return f"st_{name}_{preset_name}"


left, right = st.columns(2)
with left:
    content = views.picture_picker(f"content_{preset_name}", _("Content picture"), preset.content,
                                   {**PHOTOS, **TEXTURES, **PROCEDURAL})
with right:
    style = views.picture_picker(f"style_{preset_name}", _("Style picture"), preset.style,
                                 {**TEXTURES, **PROCEDURAL, **PHOTOS})

features = st.selectbox(_("Feature network"), list(NETWORKS), index=list(NETWORKS).index(defaults.features),
                        key=key("features"), format_func=lambda name: _(NETWORKS[name].title))
info = network_info(features)
ready = views.network_ready(features)
if features == "random":
    st.caption(_("Random filters need no download, so this works on every machine. They were never trained, so "
                 "they respond to colours, edges and grain at five scales but know no objects: styles transfer "
                 "well, while the content keeps its outlines rather than its parts (Ustyuzhaninov et al. 2016)."))
else:
    st.caption(_("Trained on ImageNet: its deep layers respond to parts of objects, so the content keeps "
                 "recognisable parts. Run the same pictures with the random network to compare: both results "
                 "stay in the strip below."))
if not ready:
    views.offer_download(features, key=key("download"))

with st.form("st_form"):
    first, second, third = st.columns(3)
    with first:
        content_layer = st.selectbox(_("Content layer"), info.layers, key=key("content_layer"),
                                     index=info.layers.index(defaults.content_layer or info.content_layer))
        style_layers = st.multiselect(_("Style layers"), info.layers, key=key("style_layers"),
                                      default=[layer for layer in (defaults.style_layers or info.style_layers)],
                                      help=_("Shallow layers (listed first) capture colours and fine grain; "
                                             "deeper ones larger structures and strokes."))
        texture = st.checkbox(_("Texture synthesis (content weight 0)"), value=defaults.texture, key=key("texture"))
    with second:
        style_weight = st.select_slider(_("Style weight"), STYLE_WEIGHTS, key=key("style_weight"),
                                        value=defaults.style_weight if features == defaults.features
                                        else info.style_weight, format_func=lambda v: f"{v:g}")
        tv_weight = st.select_slider(_("TV weight"), TV_WEIGHTS, value=defaults.tv_weight, key=key("tv_weight"),
                                     format_func=lambda v: f"{v:g}")
        size = st.select_slider(_("Size (long side, px)"), SIZES, value=defaults.size, key=key("size"))
    with third:
        steps = st.number_input(_("Steps"), 1, 5000, defaults.steps, key=key("steps"))
        optimizer = st.radio(_("Optimiser"), OPTIMIZERS, key=key("optimizer"), horizontal=True,
                             format_func=lambda name: {"lbfgs": "L-BFGS", "adam": "Adam"}[name])
        start = st.radio(_("Start from"), STARTS, index=STARTS.index(defaults.start), key=key("start"), horizontal=True,
                         format_func=lambda name: {"content": _("content picture"), "noise": _("noise")}[name])
        seed = st.number_input(_("Seed"), 0, 2**31 - 1, defaults.seed, key=key("seed"))
    go_pressed = st.form_submit_button(_("Start"), type="primary")

job = st.session_state.get(STYLE_JOB)
if go_pressed:
    if job is not None and job.active:
        st.warning(_("A run of this session is still going: stop it first."))
    elif content is None or style is None:
        st.warning(_("Choose or upload both pictures first."))
    elif not ready:
        st.warning(_("Download the network's weights first (above), or choose the random network."))
    else:
        try:
            config = StyleConfig(features=features, content_layer=content_layer, style_layers=tuple(style_layers),
                                 content_weight=0.0 if texture else 1.0, style_weight=float(style_weight),
                                 tv_weight=float(tv_weight), size=int(size), steps=int(steps), optimizer=optimizer,
                                 start="noise" if texture else start, seed=int(seed))
            network = views.shared_network(features, int(seed) if features == "random" else 0)
            st.session_state[STYLE_JOB] = StyleJob(config, content[0], style[0], network).start()
            # Kept lazy, so the strip speaks the language of the moment it is shown in.
            names = {key: L_(PICTURES[key]) if key in PICTURES else key for key in (content[1], style[1])}
            network = {"random": L_("random filters"), "vgg19": "VGG-19", "squeezenet": "SqueezeNet"}[features]
            st.session_state["st_caption"] = (
                L_("texture of {style}, {network}, {size} px", style=names[style[1]], network=network, size=size)
                if texture else L_("{content} in the style of {style}, {network}, {size} px", content=names[content[1]],
                                   style=names[style[1]], network=network, size=size))
            st.rerun()
        except ConfigError as error:
            st.error(_("Could not start: {reason}", reason=error))
        except GenLabError as error:
            st.error(str(error))

job = st.session_state.get(STYLE_JOB)
running = job is not None and job.active


@st.fragment(run_every=1.0 if running else None)
def live_run() -> None:
    current = st.session_state.get(STYLE_JOB)
    if current is None:
        st.info(_("No run yet: choose the pictures and press Start."))
        return
    view = views.show_run(current)
    if running and not view.active:
        st.rerun(scope="app")  # ended: redraw once with the timer off and the result kept


st.header(_("The picture"))
live_run()
if job is not None and not job.active:
    views.keep_result(job, st.session_state.get("st_caption", ""))
st.subheader(_("This session's results"))
views.results_strip()

st.header(_("What the network sees"))
st.write(_("Each layer's Gram matrix says how strongly every pair of its channels fires together over the whole "
           "picture. Two pictures with similar Gram matrices have the same texture, wherever things are."))
if ready and style is not None:
    network = views.shared_network(features, int(seed) if features == "random" else 0)
    layer = st.selectbox(_("Layer"), info.layers, key=key("gram_layer"),
                         index=info.layers.index((defaults.style_layers or info.style_layers)[0]))
    latest = job.view().snapshot if job is not None else None
    shown = {_("style picture"): style[0]}
    if latest is not None:
        shown[_("current picture")] = latest.image
    elif content is not None:
        shown[_("content picture")] = content[0]
    views.gram_heatmaps(network, shown, layer)
    st.caption(_("The first 48 channels; brighter cells: channels that fire together more."))
    if st.button(_("Synthesise a texture from each style layer alone"), key=key("one_layer")):
        # One small background job per layer, in the same slots as every run; all from the same noise.
        st.session_state[LAYER_JOBS] = {
            one: StyleJob(StyleConfig(features=features, style_layers=(one,), content_weight=0.0, start="noise",
                                      size=64, steps=60, snapshot_every=0, seed=int(seed),
                                      style_weight=float(style_weight)), style[0], style[0], network).start()
            for one in style_layers}
        st.rerun()
    layer_jobs = st.session_state.get(LAYER_JOBS, {})

    @st.fragment(run_every=1.0 if any(job.active for job in layer_jobs.values()) else None)
    def layer_textures() -> None:
        views.layer_textures(layer_jobs)

    layer_textures()
else:
    st.info(_("Choose a style picture and a network whose weights are on this server."))

st.header(_("The losses, and their code"))
views.formulas()
