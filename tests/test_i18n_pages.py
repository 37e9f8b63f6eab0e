"""Every page in Chinese, in AppTest: no English sentence on screen outside code, formulas and
proper names; the language follows a shared link, the sidebar's picker and the browser; switching
it keeps the session's job, models and settings.

``rendered_texts`` walks everything a page draws that a person reads (Markdown, captions,
headings, widget labels, help, options and placeholders, alerts, metrics, tab and expander labels,
image captions, progress texts, table headers and cells, and the titles, axis titles, legend names,
annotations and hover texts of Plotly figures); ``english_words`` finds the English words left in
them after code spans, code blocks, LaTeX and identifiers are taken out, except the names the
glossary keeps in Latin letters and the names of datasets, families and shipped models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from genmodels.ui.i18n import LANGUAGE, PICKER

from .conftest import app_on

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def app_py_on_every_run(monkeypatch):
    """Make AppTest run app.py on every run, as the server does. Because pages/ sits beside app.py,
    AppTest starts each run in Streamlit's older multipage mode, where a run after the first executes
    the page file alone: no sidebar, no ``?lang=`` handling, no language picker. (The server leaves
    that mode for good on its first st.navigation; genmodels.ui.state.run_through_the_app.)"""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def navigation_only(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", navigation_only)

# --- what a page shows --------------------------------------------------------------------------

SKIPPED_ELEMENTS = {"code", "latex", "json", "exception", "divider", "empty", "html"}  # code, formulas
TEXT_FIELDS = {"body", "label", "help", "options", "placeholder", "caption", "text", "delta", "alt", "content",
               "delta_description"}
MARKDOWN_KINDS = {2: "caption"}  # Markdown.element_type values that are prose (CODE=3, LATEX=4 are skipped)


def proto_texts(message, where: str) -> list[tuple[str, str]]:
    """The human-readable strings of a protobuf element, found by field name, recursively."""
    found = []
    for field, value in message.ListFields():
        place = f"{where}.{field.name}"
        if field.type == field.TYPE_MESSAGE:
            for item in (value if field.is_repeated else [value]):
                found += proto_texts(item, place)
        elif field.type == field.TYPE_STRING and field.name in TEXT_FIELDS:
            found += [(place, text) for text in (value if field.is_repeated else [value]) if text]
    return found


def plotly_texts(spec: str, where: str) -> list[tuple[str, str]]:
    """Titles, axis titles, legend names, annotations, colour-bar titles, hover texts, menu labels."""
    figure = json.loads(spec)
    found = []

    def title(value, place):
        text = value.get("text") if isinstance(value, dict) else value
        if isinstance(text, str) and text:
            found.append((place, text))

    layout = figure.get("layout", {})
    title(layout.get("title"), f"{where}.title")
    for key, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*|coloraxis\d*|scene\d*", key) and isinstance(axis, dict):
            title(axis.get("title"), f"{where}.{key}.title")
            title(axis.get("colorbar", {}).get("title"), f"{where}.{key}.colorbar")
    title(layout.get("legend", {}).get("title"), f"{where}.legend.title")
    for note in layout.get("annotations", []):
        title(note.get("text"), f"{where}.annotation")
    for menu in layout.get("updatemenus", []) + layout.get("sliders", []):
        for item in menu.get("buttons", []) + menu.get("steps", []):
            title(item.get("label"), f"{where}.menu")
    for trace in figure.get("data", []):
        title(trace.get("name"), f"{where}.trace.name")
        for key in ("hovertemplate", "texttemplate"):
            template = trace.get(key)
            if isinstance(template, str):
                title(re.sub(r"<extra>.*?</extra>|%\{[^}]*\}", " ", template), f"{where}.trace.{key}")
        title(trace.get("colorbar", {}).get("title"), f"{where}.trace.colorbar")
        title(trace.get("marker", {}).get("colorbar", {}).get("title"), f"{where}.trace.colorbar")
    return found


def table_texts(frame, where: str) -> list[tuple[str, str]]:
    """A table's column headers, string index and string cells."""
    found = [(f"{where}.column", str(column)) for column in frame.columns]
    found += [(f"{where}.index", label) for label in frame.index if isinstance(label, str)]
    for column in frame.columns:
        found += [(f"{where}[{column}]", cell) for cell in frame[column] if isinstance(cell, str)]
    return found


def rendered_texts(node, where: str = "") -> list[tuple[str, str]]:
    """(where, text) for every text a person reads in an AppTest tree (or a part of it)."""
    kind = getattr(node, "type", type(node).__name__)
    place = f"{where}/{kind}"
    proto = getattr(node, "proto", None)
    found = []
    if kind in SKIPPED_ELEMENTS:
        return found
    if kind in ("dataframe", "table"):
        found += table_texts(node.value, place)
    elif kind == "plotly_chart":
        found += plotly_texts(proto.spec, place)
    elif proto is not None and not (kind == "markdown" and proto.element_type in (3, 4)):
        found += proto_texts(proto, place)
    for child in getattr(node, "children", {}).values():
        found += rendered_texts(child, place)
    return found


# --- what counts as English ---------------------------------------------------------------------

def glossary_names() -> set[str]:
    """The names the glossary keeps in Latin letters, and the names of the lab's datasets, families,
    classes and shipped models (they are names, like file names)."""
    from genmodels.data import DATASETS, KMNIST_CLASSES
    from genmodels.registry import FAMILIES

    text = (ROOT / "genmodels" / "locale" / "glossary.md").read_text(encoding="utf-8")
    kept = text.split("## Kept in Latin letters\n", 1)[1]
    names = set(re.findall(r"`([^`]+)`", kept)) | set(DATASETS) | set(FAMILIES) | set(KMNIST_CLASSES)
    names |= {path.stem for path in (ROOT / "checkpoints").rglob("*.safetensors")}
    return {name.lower() for name in names}


NAMES = glossary_names()


def glossary_terms() -> set[str]:
    """The English of the glossary's terms ("variational autoencoder", "ELBO"), lower case: the house
    style gives one in full-width brackets after its Chinese the first time a page uses it."""
    text = (ROOT / "genmodels" / "locale" / "glossary.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([^|]+?) \| [^|]+ \|", text, flags=re.M)
    return {term.strip().lower() for row in rows for term in row.split(" / ")} - {"english", "---"}


TERMS = glossary_terms()


def without_bracketed_terms(text: str) -> str:
    """``text`` without the English glossary terms given in brackets after their Chinese, as in
    变分自编码器（variational autoencoder，VAE）; any other English in brackets stays."""
    def spare(match: re.Match) -> str:
        parts = [part.strip().lower() for part in re.split(r"[，,]", match.group(1))]
        return "（）" if all(part in TERMS or part in NAMES for part in parts) else match.group(0)

    return re.sub(r"（([^（）]*)）", spare, text)
WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*(?:-[A-Za-z]+)*")
IDENTIFIER = re.compile(r"[\w.\-]*(?:\d|_|[A-Za-z]\.[A-Za-z])[\w.\-]*")  # vae-sprites-2d, conv_dae, a.png, 1e-3


def prose(text: str) -> str:
    """``text`` without what is not prose: code spans and blocks, LaTeX, links' addresses, HTML tags,
    icons, identifiers and numbers."""
    text = without_bracketed_terms(re.sub(r"```.*?```|`[^`]*`", " ", text, flags=re.S))
    text = re.sub(r"\$\$.*?\$\$|\$[^$]+\$|\\\(.*?\\\)|\\\[.*?\\\]", " ", text, flags=re.S)
    text = re.sub(r"\]\([^)]*\)", "] ", text)  # [words](address): the words stay
    text = re.sub(r"https?://\S+|<[^>]+>|:material/\w+:|:[a-z_]+:(?=\s|$)", " ", text)
    text = re.sub(r":(?:red|blue|green|orange|violet|gray|grey|rainbow|primary)(?:-background)?\[", "[", text)
    text = re.sub(r"\\[A-Za-z]+", " ", text)  # a stray LaTeX command outside $...$
    return IDENTIFIER.sub(" ", text)


def english_words(text: str) -> list[str]:
    """The English words of ``text`` (two letters or more, not a kept name); single letters are
    variables (x, z, D, G)."""
    words = []
    for word in WORD.findall(prose(text)):
        if len(word) < 2 or word.lower() in NAMES or (word[-1] == "s" and word[:-1].lower() in NAMES):
            continue  # x, z; VAE, Fashion-MNIST; GANs
        if "-" in word and all(len(part) < 2 or part.lower() in NAMES for part in word.split("-")):
            continue
        words.append(word)
    return words


def untranslated(texts: list[tuple[str, str]]) -> list[str]:
    return [f"{where}: {text!r} -> {words}" for where, text in texts if (words := english_words(text))]


# --- the checker itself -------------------------------------------------------------------------

def test_the_checker_finds_an_untranslated_label_and_spares_code_formulas_and_names():
    def check(script):
        app = AppTest.from_function(script, default_timeout=30).run()
        assert not app.exception, app.exception
        return untranslated(rendered_texts(app._tree))

    def translated():
        import streamlit as st

        st.title("变分自编码器（variational autoencoder，VAE）")
        st.markdown("用 `torch.randn_like` 实现重参数化技巧：$z = \\mu + \\sigma \\odot \\epsilon$，"
                    "在 Fashion-MNIST 上训练 3 轮，每轮 1.2 s，PSNR 为 21.3 dB。模型 vae-sprites-2d。")
        st.latex(r"\mathcal{L} = \mathbb{E}_{q}[\log p(x|z)] - KL(q \| p)")
        st.code("model = VAE(latent_dim=2)\nloss.backward()")
        st.slider("潜在维度 z1", 0.0, 1.0, key="a")
        st.selectbox("数据集", ["fashion-mnist", "sprites"], key="b")

    assert check(translated) == []

    def one_label_left_in_english():
        import streamlit as st

        st.title("变分自编码器（VAE）")
        st.caption("潜在空间（latent space）里的编码（what the encoder outputs）")
        st.slider("Latent dimension", 0.0, 1.0, key="a")

    problems = check(one_label_left_in_english)
    assert len(problems) == 2 and "'Latent dimension'" in problems[1] and "label" in problems[1], problems
    assert problems[0].endswith("-> ['what', 'the', 'encoder', 'outputs']"), problems  # the glossary term is spared

    def english_everywhere_it_hides():
        import pandas as pd
        import plotly.graph_objects as go
        import streamlit as st

        st.selectbox("数据集", ["Trouser", "裤子"], help="选择一个", key="b")
        st.metric("Test loss", "0.3")
        st.dataframe(pd.DataFrame({"model": ["vae-sprites-2d (shipped)"]}))
        with st.expander("How it works"):
            st.caption("说明")
        figure = go.Figure(go.Scatter(x=[0, 1], y=[1, 0], name="generator"))
        figure.update_layout(title="损失", xaxis_title="step", yaxis_title="损失")
        st.plotly_chart(figure)
        st.info("**Note:** 请先训练")

    problems = "\n".join(check(english_everywhere_it_hides))
    for word in ("Trouser", "Test", "model", "shipped", "How", "generator", "step", "Note"):
        assert f"'{word}'" in problems, (word, problems)


# --- every page, in Chinese ---------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_the_page_speaks_chinese(page):
    """The page and the sidebar around it (the language picker, the device, the job line)."""
    app = app_on(page, **{LANGUAGE: "zh_CN"})
    texts = rendered_texts(app._tree)
    assert any(CJK.search(text) for _where, text in texts), f"{page} shows no Chinese at all"
    problems = untranslated(texts)
    assert not problems, f"{page} shows {len(problems)} English texts in Chinese:\n" + "\n".join(problems)


# --- which language, and switching it -----------------------------------------------------------

def first_run(locale: str | None = None, lang: str | None = None, **session) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    if locale:
        app.context["locale"] = locale
    if lang:
        app.query_params["lang"] = lang
    for key, value in session.items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


def picker(app: AppTest):
    return app.selectbox(key=PICKER)


def test_the_language_follows_the_browser_without_pinning_the_address():
    chinese, english = first_run(locale="zh-CN"), first_run(locale="en-US")
    assert picker(chinese).value == "zh_CN" and picker(chinese).label == "语言"
    assert picker(english).value == "en" and picker(english).label == "Language"
    assert picker(chinese).options == ["English", "简体中文"]
    assert "lang" not in chinese.query_params and LANGUAGE not in chinese.session_state


@pytest.mark.parametrize("lang, language, code", [("zh", "zh_CN", "zh"), ("zh-CN", "zh_CN", "zh"),
                                                   ("en", "en", "en")])
def test_a_shared_link_wins_over_the_browser_and_is_remembered(lang, language, code):
    browser = "en-US" if language == "zh_CN" else "zh-CN"
    app = first_run(locale=browser, lang=lang)
    assert picker(app).value == language and app.session_state[LANGUAGE] == language
    assert app.query_params["lang"] == code  # the address says it in the short form
    # Moving to another page drops the query string: the session remembers, and puts it back.
    app.query_params.clear()
    app.switch_page("pages/models.py").run()
    assert not app.exception and app.session_state[LANGUAGE] == language and app.query_params["lang"] == code


def test_switching_language_keeps_the_job_the_models_and_every_setting(sprites_small):
    from genmodels import checkpoints, registry
    from genmodels.configs import TrainConfig
    from genmodels.serving import jobs
    from genmodels.ui.state import JOB, MODELS, SessionModel

    from .conftest import tiny_config

    spec = registry.family("vae")
    model = registry.build_model(spec, tiny_config("vae", sprites_small))
    models = {"mine": SessionModel(model=model, info=checkpoints.make_info("vae", model, name="mine"))}
    job = jobs.start_job("vae", sprites_small, TrainConfig(epochs=500, device="cpu"))
    try:
        app = first_run(locale="en-US", **{JOB: job, MODELS: models, "dn_level": 0.8})
        app.switch_page("pages/models.py").run()
        assert not app.exception, app.exception
        models_pick = app.selectbox(key="models_pick")
        models_pick.select_index(next(i for i, label in enumerate(models_pick.options) if "mine" in label)).run()
        chosen = app.selectbox(key="models_pick").value
        before = dict(app.session_state.items())
        title = app.title[0].value
        for language, code in (("zh_CN", "zh"), ("en", "en")):
            picker(app).set_value(language).run()
            assert not app.exception, app.exception
            assert app.session_state[LANGUAGE] == language and app.query_params["lang"] == code
            assert picker(app).label == ("语言" if language == "zh_CN" else "Language")
            after = dict(app.session_state.items())
            changed = {key for key in before if key not in after or after[key] is not before[key]
                       and after[key] != before[key]}
            assert changed <= {LANGUAGE, PICKER}, changed  # the job, the models, every page setting
            assert after[JOB] is job and after[MODELS]["mine"].model is model
            assert app.selectbox(key="models_pick").value == chosen  # options are keys, shown translated
            assert job.active, job.view().state  # still training
        assert app.title[0].value == title  # the same page, back in English
    finally:
        job.stop()
        job.wait(30)
