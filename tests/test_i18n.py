"""The interface's languages: the catalogs cover every marked message, the language is per
session, numbers are written and read as each language does (clustering/i18n.py)."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from clustering import i18n
from clustering.errors import ConfigError

from tests.apptest_helpers import check, new_app

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def code_messages() -> set[str]:
    """Every message the code marks (``_``, ``N_``, ``ngettext``: its singular, the catalog's
    key), as ``pybabel extract -F babel.cfg -k N_`` collects them."""
    keywords = dict(DEFAULT_KEYWORDS, N_=None)
    with open(ROOT / "babel.cfg") as fh:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(fh)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])  # a plural: its singular
    return {m for m in found if m}


def catalog(code: str):
    with open(i18n.catalog_path(code), "rb") as fh:
        return read_po(fh, locale=code)


def test_every_message_of_the_code_has_a_russian_translation_that_is_not_fuzzy():
    ru = catalog("ru")
    messages = code_messages()
    assert len(messages) > 20  # the extraction saw the code
    problems = []
    for msgid in sorted(messages):
        entry = ru.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            problems.append(f"{'missing' if entry is None else 'fuzzy or empty'}: {msgid!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(strings):
            problems.append(f"a plural form is empty: {msgid!r}")
        for text in strings:  # the parameters stay data: the same placeholders
            if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(msgid)):
                problems.append(f"placeholders differ: {msgid!r} -> {text!r}")
    assert not problems, "\n".join(problems)


def test_the_catalogs_compile():
    for code in i18n.LANGUAGES:
        if code == i18n.DEFAULT_LANGUAGE:
            continue
        cat = catalog(code)
        import io

        problems = [(m.id, [str(e) for e in errors]) for m, errors in cat.check()]
        assert not problems, problems  # what `pybabel compile` refuses (e.g. a "%" mismatch)
        buf = io.BytesIO()
        write_mo(buf, cat)
        assert buf.getvalue()[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")  # a .mo file


def test_the_language_is_per_thread_and_missing_messages_stay_english():
    seen = {}

    def speak(code):
        i18n.set_language(code)
        seen[code] = (i18n._("Run history"), i18n._("a message no catalog has"))

    threads = [threading.Thread(target=speak, args=(c,)) for c in ("ru", "en")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["ru"] == ("История запусков", "a message no catalog has")
    assert seen["en"] == ("Run history", "a message no catalog has")
    assert i18n.language() == "en"  # this thread was never changed
    with pytest.raises(ConfigError, match="'de' is not one of 'en', 'ru'"):
        i18n.set_language("de")


@pytest.mark.parametrize("locale, code", [("ru-RU", "ru"), ("ru_RU.UTF-8", "ru"), ("en-GB", "en"),
                                          ("de", "en"), (None, "en"), ("", "en")])
def test_the_language_of_a_locale(locale, code):
    assert i18n.language_of_locale(locale) == code


def test_the_command_line_follows_lang():
    assert i18n.language_from_env({"LANG": "ru_RU.UTF-8"}) == "ru"
    assert i18n.language_from_env({"LC_ALL": "C.UTF-8", "LANG": "ru_RU.UTF-8"}) == "en"
    assert i18n.language_from_env({}) == "en"


def test_numbers_are_written_as_each_language_writes_them():
    assert i18n.format_number(1234567.891, 2, code="en") == "1,234,567.89"
    assert i18n.format_number(1234567.891, 2, code="ru") == "1\u202f234\u202f567,89"
    assert i18n.format_number(0.5, code="ru") == "0,5"
    assert i18n.format_number(12, code="ru") == "12"
    assert i18n.format_number(float("nan"), code="ru") == "—"


@pytest.mark.parametrize("text, value", [("1 234,5", 1234.5), ("1234.5", 1234.5),
                                         ("1,234.5", 1234.5), ("1.234,5", 1234.5),
                                         ("-0,25", -0.25), ("1\u202f000", 1000.0), ("7", 7.0)])
def test_numbers_are_read_either_way(text, value):
    assert i18n.parse_number(text) == value


def test_a_word_is_not_a_number():
    with pytest.raises(ValueError, match="'abc' is not a number"):
        i18n.parse_number("abc")


def test_the_interface_follows_the_chosen_language():
    """The switch's value drives every marked message: the entry script's sidebar and the page.
    (AppTest reruns a page under st.navigation without the entry script's sidebar, so the choice
    is set before the first run here; the browser test clicks the switch itself.)"""
    from streamlit.testing.v1 import AppTest

    from tests.apptest_helpers import APP, TIMEOUT

    at = new_app()
    assert at.session_state["cm_lang"] == "en"  # AppTest's browser says no Russian locale
    assert "Quick start" in [h.value for h in at.subheader]
    switch = at.sidebar.get("button_group")[0]
    assert [o.content for o in switch.proto.options] == ["English", "Русский"]
    ru = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    ru.session_state["cm_lang"] = "ru"
    ru.run()
    check(ru)
    assert "Быстрый старт" in [h.value for h in ru.subheader]
    assert "Данных пока нет." in [c.value for c in ru.sidebar.caption]
    assert ru.button(key="home_generate").label == "1 · Создать данные по умолчанию"


def test_a_thread_that_set_no_language_asks_the_source():
    """A button's callback or a fragment's re-run runs in a thread where the entry script did
    not set the language: it asks the app's source (the session's choice)."""
    seen = []
    before = i18n._source
    try:
        i18n.set_language_source(lambda: "ru")
        t = threading.Thread(target=lambda: seen.append(i18n._("Run history")))
        t.start()
        t.join()
        i18n.set_language_source(lambda: None)  # no session: the default
        t = threading.Thread(target=lambda: seen.append(i18n._("Run history")))
        t.start()
        t.join()
    finally:
        i18n.set_language_source(before)
    assert seen == ["История запусков", "Run history"]


# ------------------------------------------------------------------ the backend's messages
def test_an_error_keeps_its_sentence_and_its_parameters_apart():
    """str(err) is the English sentence; i18n.text(err) the same sentence in the caller's
    language, the parameters (a column name, a row, a cell) unchanged, the numbers written as
    the language writes them."""
    import pickle

    from clustering.errors import DataError
    from clustering.i18n import Message, N_

    err = DataError(N_("{what} has {n} columns"), what=Message(N_("The table")), n=12)
    assert str(err) == "The table has 12 columns"
    i18n.set_language("ru")
    try:
        assert i18n.text(err) == "Таблица: столбцов — 12"
        back = pickle.loads(pickle.dumps(err))  # as a Dask worker sends it back
        assert type(back) is DataError and i18n.text(back) == "Таблица: столбцов — 12"
        assert i18n.text(Message("{x:.2f} and {n:,}", x=0.5, n=12345)) == "0,50 and 12\u202f345"
        assert i18n.text(Message("a {brace} kept")) == "a {brace} kept"  # no parameters
        prefixed = err.prefixed(N_("{method}: "), method="k-means")
        assert type(prefixed) is DataError and str(prefixed) == "k-means: The table has 12 columns"
        assert i18n.text(prefixed) == "k-means: Таблица: столбцов — 12"
    finally:
        i18n.set_language("en")


def test_a_message_is_stored_as_data_and_read_back():
    from clustering.i18n import Joined, Message

    note = Joined([Message("{rows} and {more} more", rows="2, 3", more=4), "x"], "; ",
                  capitalize=True)
    data = i18n.to_data(note)
    import json

    assert i18n.from_data(json.loads(json.dumps(data))).render() == str(note) \
        == "2, 3 and 4 more; x"
    with pytest.raises(ValueError):
        i18n.from_data({"template": 1})


def test_fmt_writes_a_number_as_the_language_does():
    assert i18n.fmt(0.25, ".2f", code="en") == "0.25"
    assert i18n.fmt(0.25, ".2f", code="ru") == "0,25"
    assert i18n.fmt(0.975, ".0%", code="ru") == "98%"
    assert i18n.fmt(1234.5, ",.1f", code="ru") == "1\u202f234,5"
    assert i18n.fmt("text", "", code="ru") == "text"


def _russian_app():
    from streamlit.testing.v1 import AppTest

    from tests.apptest_helpers import APP, TIMEOUT, _OPEN

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    _OPEN.append(at)
    at.session_state["cm_lang"] = "ru"
    at.run()
    check(at)
    return at


@pytest.fixture
def russian_thread():
    """AppTest formats a widget's value with the app's format_func in the test's thread: that
    thread speaks Russian too, as the session does."""
    i18n.set_language("ru")
    yield
    i18n.set_language("en")


def test_an_error_from_the_loader_appears_in_russian_with_its_parameters_intact(russian_thread):
    """The table's column, rows and values stay as the file has them; the sentence around them
    is Russian (the error is raised by clustering.prepare_steps, in English, and translated
    where the page shows it)."""
    from tests.apptest_helpers import click

    at = _russian_app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Upload a CSV").run()
    data = "id,a,Выручка\n1,1.0,x\n2,2.0,12 тыс\n3,3.0,z\n".encode("utf-8")
    at.file_uploader(key="csv_upload").upload("ошибки.csv", data, "text/csv").run()
    at.multiselect(key="tbl_features").set_value(["a", "Выручка"]).run()
    click(at, "tbl_use")
    assert not at.exception
    assert at.error, "the loader's refusal is shown"
    text = at.error[0].value.replace("\\", "")  # md_escape's backslashes
    assert text.startswith("В столбце 'Выручка' есть ячейки, которые не являются числами")
    assert "строка 2: 'x'" in text and "строка 3: '12 тыс'" in text  # rows and cells as
    assert "строка 4: 'z'" in text  # the file has them
    assert "строка 1 — заголовок" in text
    assert at.session_state["cm_dataset"] is None  # nothing was made


def test_the_language_is_kept_in_the_workspace():
    """A new session on the same workspace (a reload, another tab) opens in the language last
    chosen there, whatever its browser says."""
    from streamlit.testing.v1 import AppTest

    from tests.apptest_helpers import APP, TIMEOUT, _OPEN

    at = _russian_app()
    token = at.query_params["ws"]
    token = token[0] if isinstance(token, list) else token
    again = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    _OPEN.append(again)
    again.query_params["ws"] = token
    again.run()
    check(again)
    assert again.session_state["cm_lang"] == "ru"
    assert "Быстрый старт" in [h.value for h in again.subheader]
    fresh = new_app()  # another workspace: the browser's language (AppTest's: English)
    assert fresh.session_state["cm_lang"] == "en"


def test_a_list_of_numbers_is_read_either_way():
    """A form's list of numbers (a grid of τ1, hidden layers): commas between numbers with
    decimal points, or semicolons between numbers with decimal commas."""
    from ui.forms import parse_number_list

    assert parse_number_list("0.5, 1.5", (0.1,)) == (0.5, 1.5)
    assert parse_number_list("0,5; 1,5", (0.1,)) == (0.5, 1.5)
    assert parse_number_list("140, 280, 700", (140,)) == (140, 280, 700)
    assert parse_number_list("1 000; 2,5", (1.0,)) == (1000.0, 2.5)
    with pytest.raises(ValueError):
        parse_number_list("a, b", (1,))


def test_an_app_table_shows_its_headers_and_words_in_the_language(russian_thread):
    """Section 4's table as the page shows it: Russian headers, states and reasons (a reason
    kept as i18n.Text keeps its numbers as data), the numbers themselves untouched."""
    import pandas as pd

    from clustering.i18n import Message, N_, Text
    from ui.column_names import shown_table

    reason = Text(Message(N_("posterior {posterior:.3f} of its cluster {cluster} is under the "
                             "reliable level {level:.3f}"), posterior=0.7, cluster=3,
                          level=0.963))
    table = pd.DataFrame({"rank": [1], "size": [38], "state": ["unsatisfactory"],
                          "reason": pd.Series([reason], dtype=object), "theta_u2": [1.5]})
    shown = shown_table(table.set_index("rank"))
    assert list(shown.columns) == ["объекты", "состояние", "основание", "Θ, повтор 2"]
    assert shown.index.name == "ранг"
    assert shown["состояние"].iloc[0] == "неудовлетворительное состояние"
    assert shown["основание"].iloc[0].startswith("апостериорная вероятность 0,700")
    assert shown["объекты"].iloc[0] == 38 and shown["Θ, повтор 2"].iloc[0] == 1.5
    assert str(reason).startswith("posterior 0.700 of its cluster 3")  # the data stays English


def test_a_russian_form_reads_a_decimal_comma(russian_thread):
    """A browser's number box drops a typed comma ("1,5" would read 15), so a Russian form's
    decimal settings are text boxes that read either way; a word or a value out of range is
    said under the box and the value is kept."""
    from tests.apptest_helpers import click

    at = _russian_app()
    at.switch_page("pages/data.py").run()
    at.text_input(key="gen_blobs_cluster_std__text").set_value("1,5").run()
    check(at)
    assert at.session_state["gen_blobs_cluster_std"] == 1.5
    at.text_input(key="gen_blobs_cluster_std__text").set_value("2.25").run()
    assert at.session_state["gen_blobs_cluster_std"] == 2.25
    at.text_input(key="gen_blobs_cluster_std__text").set_value("много").run()
    assert at.session_state["gen_blobs_cluster_std"] == 2.25  # kept
    assert any("'много' — не число" in e.value.replace("\\", "") for e in at.error)
    at.text_input(key="gen_blobs_cluster_std__text").set_value("0,5").run()
    assert not at.error
    click(at, "gen_button")
    check(at)
    assert at.session_state["cm_data_spec"]["params"]["cluster_std"] == 0.5
