"""The two languages: the Chinese catalog covers every message people read, keeps its placeholders
and the glossary's terms; the CLI follows the locale variables; the gettext API behaves.

The catalog is checked against what Babel extracts from the code, with the same mapping
(babel.cfg) and keywords as ``make i18n``, so a string added to a page without a translation fails
here with its msgid listed."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from genmodels import i18n
from genmodels.i18n import L_, _, ngettext, normalize, placeholders, using

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "genmodels" / "locale" / "zh_CN" / "LC_MESSAGES" / "genmodels.po"
GLOSSARY = ROOT / "genmodels" / "locale" / "glossary.md"
KEYWORDS = {"_": None, "L_": None, "N_": None, "ngettext": (1, 2)}  # as the Makefile's I18N_KEYWORDS
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- what the code asks to translate ------------------------------------------------------------

def extracted() -> dict[str | tuple[str, str], list[str]]:
    """Every message Babel finds in the app, the pages and the package -> where it was found."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def catalog() -> Catalog:
    with PO.open("rb") as po_file:
        return read_po(po_file, locale="zh_CN", domain=i18n.DOMAIN)


def english_placeholders(msgid: str | tuple[str, str]) -> set[str]:
    forms = msgid if isinstance(msgid, tuple) else (msgid,)
    return set().union(*(placeholders(form) for form in forms))


def catalog_problems(messages: dict, translations: Catalog) -> list[str]:
    """One line per message that is missing, empty, fuzzy, or whose translation's placeholders
    differ from the English ones (or would not format)."""
    problems = []
    for msgid, where in sorted(messages.items(), key=lambda item: str(item[0])):
        message = translations.get(msgid)
        strings = message.string if message is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if message is None or not all(s.strip() for s in strings):
            problems.append(f"untranslated: {msgid!r}  ({where[0]})")
        elif message.fuzzy:
            problems.append(f"fuzzy (review it, then drop the flag): {msgid!r}  ({where[0]})")
        else:
            wanted = english_placeholders(msgid)
            for string in strings:
                try:
                    found = placeholders(string)
                    if found == wanted:
                        string.format(**dict.fromkeys(wanted, "1"))
                except (ValueError, IndexError, KeyError) as error:
                    problems.append(f"does not format ({error}): {msgid!r} -> {string!r}")
                    continue
                if found != wanted:
                    problems.append(f"placeholders {sorted(found)} instead of {sorted(wanted)}: "
                                    f"{msgid!r} -> {string!r}")
    return problems


def test_every_message_has_a_reviewed_chinese_translation_with_its_placeholders():
    problems = catalog_problems(extracted(), catalog())
    assert not problems, (f"{len(problems)} messages of the code lack a reviewed Chinese translation "
                          f"(run `make i18n`, then translate them in {PO.relative_to(ROOT)}):\n"
                          + "\n".join(problems))


def test_the_catalog_check_fails_on_missing_fuzzy_and_mismatched_messages():
    translations = Catalog(locale="zh_CN")
    translations.add("Home", "首页")
    translations.add("Trained {n} epochs", "训练了 {n} 轮", flags=("fuzzy",))
    translations.add("Loaded {name}", "已加载 {model}")
    translations.add("Saved {name}", "已保存 {name")
    translations.add(("{n} model", "{n} models"), ("{n} 个模型",))
    messages = {msgid: ["x.py:1"] for msgid in ("Home", "Trained {n} epochs", "Loaded {name}", "Saved {name}",
                                                 ("{n} model", "{n} models"), "Not in the catalog")}
    problems = catalog_problems(messages, translations)
    assert len(problems) == 4, problems
    for fragment in ("fuzzy", "['model'] instead of ['name']", "Saved {name}", "untranslated: 'Not in the catalog'"):
        assert any(fragment in problem for problem in problems), (fragment, problems)


def test_the_catalog_has_a_proper_header_and_chinese_plural_forms():
    header = dict(catalog().mime_headers)
    assert header["Language"] in ("zh_CN", "zh_Hans_CN")
    assert header["Plural-Forms"] == "nplurals=1; plural=0;"
    assert header["Content-Type"] == "text/plain; charset=utf-8"
    assert header["Project-Id-Version"].startswith("Generative Models")


def test_make_i18n_extracts_with_the_same_keywords_as_this_test():
    makefile = (ROOT / "Makefile").read_text()
    line = next(line for line in makefile.splitlines() if line.startswith("I18N_KEYWORDS"))
    assert "--no-default-keywords" in line
    assert set(re.findall(r"-k (\S+)", line)) == {"_", "L_", "N_", "ngettext:1,2"}
    assert "genmodels/locale/*.pot" in (ROOT / ".gitignore").read_text()


# --- how the code asks --------------------------------------------------------------------------

def translation_calls():
    """Every call of _, L_, N_ or ngettext in the files babel.cfg names: (file, line, node)."""
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "genmodels").rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS:
                yield path.relative_to(ROOT), node.lineno, node


def test_messages_are_literals_with_named_placeholders_that_the_call_fills():
    problems = []
    for path, line, call in translation_calls():
        texts = call.args[:2] if call.func.id == "ngettext" else call.args[:1]
        if any(isinstance(text, ast.JoinedStr) for text in texts):
            problems.append(f"{path}:{line}: an f-string inside {call.func.id}() cannot be translated")
            continue
        if not all(isinstance(text, ast.Constant) and isinstance(text.value, str) for text in texts):
            continue  # _(value) translates a constant marked elsewhere with N_
        msgid = tuple(text.value for text in texts)
        fields = [field for form in msgid for _lit, field, _spec, _conv in Formatter().parse(form) if field is not None]
        if any(field == "" or field.isdigit() for field in fields):
            problems.append(f"{path}:{line}: positional placeholder in {msgid!r}; name it ({{n}})")
        if call.func.id == "N_" or any(keyword.arg is None for keyword in call.keywords):
            continue  # N_ only marks; **values cannot be checked here
        given = {keyword.arg for keyword in call.keywords}
        reserved = {"singular", "plural", "count"} if call.func.id == "ngettext" else {"message"}
        if given & reserved:
            problems.append(f"{path}:{line}: {sorted(given & reserved)} is {call.func.id}'s own argument; rename it")
        if english_placeholders(msgid if len(msgid) > 1 else msgid[0]) != given:
            problems.append(f"{path}:{line}: {msgid!r} is filled with {sorted(given)}")
    assert not problems, "\n".join(problems)


# --- the glossary -------------------------------------------------------------------------------

def glossary_table(heading: str) -> list[tuple[list[str], list[str]]]:
    """The rows of the glossary's table under ``## heading``: (English forms, Chinese forms)."""
    section = GLOSSARY.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and cells[0] not in ("English", "---"):
            english, chinese = (cell.split(" / ") for cell in cells[:2])
            rows.append(([form.strip() for form in english], [form.strip() for form in chinese]))
    return rows


def term_pattern(english: str) -> re.Pattern:
    return re.compile(r"(?<![\w-])" + re.escape(english) + r"(?:s|es)?(?![\w-])", re.IGNORECASE)


def glossary_problems(translations: Catalog) -> list[str]:
    """Translated messages that do not use the glossary's Chinese for an English term they contain,
    or a name (a class, a shape) translated otherwise than the glossary says."""
    terms = [(english, [term_pattern(form) for form in english], chinese)
             for english, chinese in glossary_table("Terms")]
    names = {form: chinese for english, chinese in glossary_table("Names of things") for form in english}
    problems = []
    for message in translations:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not message.id or not all(strings) or message.fuzzy:
            continue  # the catalog test reports those
        english = " ".join(message.id) if isinstance(message.id, tuple) else message.id
        english = re.sub(r"\{\w*\}", " ", english)  # a placeholder's name is not a word a person reads
        for string in strings:
            if english in names and string not in names[english]:
                problems.append(f"{english!r} -> {string!r}: the glossary says {' / '.join(names[english])}")
            for term, patterns, chinese in terms:
                if any(p.search(english) for p in patterns) and not any(word in string for word in chinese):
                    problems.append(f"{english!r} -> {string!r}: {term[0]} is {' / '.join(chinese)}")
    return problems


def test_translations_use_the_glossarys_terms():
    problems = glossary_problems(catalog())
    assert not problems, "Translations that stray from genmodels/locale/glossary.md:\n" + "\n".join(problems)


def test_the_glossary_check_fails_on_a_stray_term():
    translations = Catalog(locale="zh_CN")
    translations.add("Train a sparse autoencoder", "训练一个稀疏自动编码机")  # not the textbook term
    translations.add("Loaded {model}", "已加载 {model}")  # "model" here is only a placeholder's name
    translations.add("Ankle boot", "靴子")
    translations.add("The discriminator wins", "判别器胜出")
    problems = glossary_problems(translations)
    assert len(problems) == 3, problems
    for fragment in ("sparse autoencoder is 稀疏自编码器", "autoencoder is 自编码器", "says 短靴"):
        assert any(fragment in problem for problem in problems), (fragment, problems)


def test_the_glossary_has_the_textbook_terms_and_every_class_name():
    from genmodels.data import FASHION_CLASSES, SPRITE_CLASSES

    chinese = {form for _english, forms in glossary_table("Terms") for form in forms}
    for term in ("自编码器", "稀疏自编码器", "去噪自编码器", "变分自编码器", "生成对抗网络", "生成器", "判别器",
                 "潜在空间", "重参数化技巧", "证据下界", "KL 散度", "模式崩溃", "风格迁移", "格拉姆矩阵", "扩散模型",
                 "流匹配", "去噪扩散概率模型", "噪声调度", "采样器", "弗雷歇距离", "峰值信噪比", "结构相似性",
                 "学习率", "批大小", "训练轮数", "检查点"):
        assert term in chinese, term
    names = {form: zh for english, zh in glossary_table("Names of things") for form in english}
    assert [names[name][0] for name in FASHION_CLASSES] == ["T恤/上衣", "裤子", "套头衫", "连衣裙", "外套", "凉鞋",
                                                             "衬衫", "运动鞋", "包", "短靴"]
    assert set(SPRITE_CLASSES) <= set(names)


# --- Markdown in Chinese ------------------------------------------------------------------------

def unclosed_emphasis(text: str) -> int:
    """How many * or ** runs of ``text`` CommonMark leaves as literal asterisks. A run opens only
    when left-flanking and closes only when right-flanking, and punctuation counts: ``**刚刚开始。**先``
    never closes (。 before the run, a letter after it), while ``**刚刚开始**。先`` does. Code spans and
    formulas are left out; a placeholder stands for a letter, as the words filled into it do."""
    text = re.sub(r"`[^`]*`|\$[^$]*\$", "x", re.sub(r"\{\w*\}", "字", text))

    def punctuation(c):
        return c == "" or unicodedata.category(c)[0] in "PS"

    def space(c):
        return c == "" or c.isspace()

    open_runs, stray = [], 0
    for run in re.finditer(r"\*+", text):
        before = text[run.start() - 1] if run.start() else ""
        after = text[run.end()] if run.end() < len(text) else ""
        opens = not space(after) and (not punctuation(after) or space(before) or punctuation(before))
        closes = not space(before) and (not punctuation(before) or space(after) or punctuation(after))
        if closes and open_runs and open_runs[-1] == len(run.group()):
            open_runs.pop()
        elif opens:
            open_runs.append(len(run.group()))
        else:
            stray += 1
    return stray + len(open_runs)


def emphasis_problems(translations: Catalog) -> list[str]:
    problems = []
    for message in translations:
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and not any(unclosed_emphasis(form) for form in english):
            problems += [f"{english[0]!r} -> {string!r}" for string in strings if string and unclosed_emphasis(string)]
    return problems


def test_chinese_bold_and_italics_close_where_the_english_ones_do():
    problems = emphasis_problems(catalog())
    assert not problems, "Markdown emphasis shown as literal asterisks in Chinese:\n" + "\n".join(problems)


def test_the_emphasis_check_fails_on_a_full_stop_inside_the_bold():
    translations = Catalog(locale="zh_CN")
    translations.add("**{title}.** {explanation}", "**{title}。**{explanation}")  # shown as **刚刚开始。**先训练
    translations.add("**Just started.** Train", "**刚刚开始**。先训练")
    translations.add("try the *mode collapse* preset", "试试*模式崩溃*预设")
    assert emphasis_problems(translations) == ["'**{title}.** {explanation}' -> '**{title}。**{explanation}'"]


# --- the command line ---------------------------------------------------------------------------

def run_cli(*args: str, **locale: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")} | locale
    return subprocess.run([sys.executable, "-m", "genmodels", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_the_cli_speaks_the_language_of_lang_and_lc_all(tmp_path):
    bad = tmp_path / "notes.safetensors"
    bad.write_bytes(b"these are my notes, not a checkpoint")
    english = run_cli("info", str(bad), LANG="en_US.UTF-8")
    assert english.returncode == 2 and "error" in english.stderr and not CJK.search(english.stderr), english.stderr
    chinese = run_cli("info", str(bad), LANG="zh_CN.UTF-8")
    assert chinese.returncode == 2 and CJK.search(chinese.stderr), chinese.stderr
    assert "Traceback" not in chinese.stderr
    # LC_ALL wins over LANG, as gettext has it
    assert CJK.search(run_cli("info", str(bad), LANG="en_US.UTF-8", LC_ALL="zh_CN.UTF-8").stderr)


def test_the_clis_json_keeps_english_keys_in_chinese():
    shipped = sorted((ROOT / "checkpoints").glob("*.safetensors"))[0]
    english = json.loads(run_cli("info", str(shipped), LANG="C").stdout)
    chinese = json.loads(run_cli("info", str(shipped), LANG="zh_CN.UTF-8").stdout)
    assert english == chinese


# --- the gettext API ----------------------------------------------------------------------------

@pytest.fixture
def english_environment(monkeypatch):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    resolver = i18n._resolver
    i18n.set_resolver(None)
    yield
    i18n.set_resolver(resolver)


@pytest.mark.parametrize("tag, language", [
    ("zh", "zh_CN"), ("zh-CN", "zh_CN"), ("zh_CN.UTF-8", "zh_CN"), ("zh-Hans", "zh_CN"), ("ZH-tw", "zh_CN"),
    (" zh ", "zh_CN"), ("en", "en"), ("en-US", "en"), ("fr-FR", "en"), ("C.UTF-8", "en"), ("", "en"), (None, "en"),
])
def test_normalize_maps_any_tag_to_a_language_of_the_lab(tag, language):
    assert normalize(tag) == language


def test_the_locale_variables_follow_gettexts_order(monkeypatch, english_environment):
    assert i18n.language() == "en"
    monkeypatch.setenv("LC_MESSAGES", "zh_CN.UTF-8")
    assert i18n.language() == "zh_CN"
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")
    assert i18n.language() == "en"
    monkeypatch.setenv("LANGUAGE", "zh_CN:en")
    assert i18n.language() == "zh_CN"


def test_using_speaks_a_language_in_its_block_and_thread_only(english_environment):
    assert _("Home") == "Home"
    seen_elsewhere = []
    with using("zh-CN"):
        assert i18n.language() == "zh_CN" and _("Home") == "首页"
        worker = threading.Thread(target=lambda: seen_elsewhere.append(_("Home")))
        worker.start()
        worker.join()
        with using("en"):
            assert _("Home") == "Home"
        assert _("Home") == "首页"
    assert _("Home") == "Home" and seen_elsewhere == ["Home"]


def test_a_resolver_decides_unless_a_using_block_does(english_environment):
    i18n.set_resolver(lambda: "zh-CN")
    assert i18n.language() == "zh_CN"
    with using("en"):
        assert i18n.language() == "en"

    def broken():
        raise RuntimeError("no session here")

    i18n.set_resolver(broken)
    assert i18n.language() == "en"  # the environment's
    i18n.set_resolver(lambda: None)
    assert i18n.language() == "en"


def test_lazy_text_is_translated_each_time_it_is_shown(english_environment):
    from genmodels.errors import ConfigError

    text = L_("Home")
    assert text == "Home" and isinstance(text, str)
    error = ConfigError(L_("{page} is missing", page=L_("Home")))
    with using("zh_CN"):
        assert str(text) == "首页" and f"{text}" == "首页" and f"{text:>4}" == "  首页"
        assert "首页" in str(error)  # a nested lazy value is translated too
    assert str(text) == "Home" and str(error) == "Home is missing"


def test_lazy_text_survives_pickle_and_copy_still_lazy(english_environment):
    import copy
    import pickle

    from genmodels.errors import CheckpointError

    text = L_("{page} is missing", page=L_("Home"))
    error = CheckpointError(text)
    for again in (pickle.loads(pickle.dumps(text)), copy.deepcopy(text), copy.copy(text)):
        assert again == "Home is missing" and again.values["page"] == "Home"
        with using("zh_CN"):
            assert "首页" in str(again)
    with using("zh_CN"):
        assert "首页" in str(pickle.loads(pickle.dumps(error)))


def test_a_listed_placeholder_is_listed_as_the_reader_lists_things(english_environment):
    import pickle

    from genmodels.i18n import Listed, listing

    text = L_("{file}: not an image in a supported format ({formats})", file="a.txt", formats=Listed(["PNG", "GIF"]))
    assert str(text) == "a.txt: not an image in a supported format (PNG, GIF)"
    with using("zh_CN"):
        assert listing(["PNG", "GIF"]) == "PNG、GIF"
        assert "（PNG、GIF）" in str(text) and "（PNG、GIF）" in str(pickle.loads(pickle.dumps(text)))

def test_plural_forms_and_placeholders_follow_the_catalog(tmp_path, monkeypatch, english_environment):
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "genmodels.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n'
        '"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        'msgid "{n} model"\nmsgid_plural "{n} models"\nmsgstr[0] "{n} 个模型"\n\n'
        'msgid "Trained {name} for {n} epochs"\nmsgstr "训练了 {n} 轮：{name}"\n\n'
        'msgid "Stop"\nmsgstr "停止"\n\n'
        '#, fuzzy\nmsgid "Unreviewed"\nmsgstr "未审阅"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        assert [ngettext("{n} model", "{n} models", n, n=n) for n in (1, 2)] == ["1 model", "2 models"]
        with using("zh_CN"):
            assert [ngettext("{n} model", "{n} models", n, n=n) for n in (1, 2)] == ["1 个模型", "2 个模型"]
            assert _("Trained {name} for {n} epochs", name="vae", n=3) == "训练了 3 轮：vae"  # reordered
            assert _("Unreviewed") == "Unreviewed"  # a fuzzy translation is not used
            assert _("Not in the catalog") == "Not in the catalog"
    finally:
        i18n.translations.cache_clear()
