"""The language switch in a real browser: the browser's Russian locale opens the workbench in
Russian, the switch changes it, and the choice stays while the visitor moves between pages."""
from __future__ import annotations

import re

from tests.e2e.conftest import ARTIFACTS, ROOT
from tests.e2e.test_browser import set_number, settle, shot


def nav_titles(page) -> list[str]:
    """The navigation's page titles (each link also holds its icon's name)."""
    links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    return [t.strip().split("\n")[-1].strip() for t in links]


def _russian_tab(browser, server, height: int = 1800):
    """A new tab of a browser whose language is Russian, on the app's home page."""
    context = browser.new_context(viewport={"width": 1400, "height": height}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server)
    page.wait_for_selector('[data-testid="stSidebarNav"]')
    return context, page


def test_a_russian_browser_gets_the_russian_interface_and_the_switch_changes_it(browser, server):
    context, page = _russian_tab(browser, server, height=1000)
    page.get_by_role("heading", name="Быстрый старт").wait_for()
    assert "История запусков" in nav_titles(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "40-home-russian.png"), full_page=True)

    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    page.get_by_role("heading", name="Quick start").wait_for()
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Run history").click()
    page.get_by_role("heading", name="Run history").wait_for()
    assert "Home" in nav_titles(page)  # the choice stays on another page
    page.locator('[data-testid="stSidebar"]').get_by_text("Русский", exact=True).click()
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Главная").wait_for()
    page.screenshot(path=str(ARTIFACTS / "41-history-after-switch.png"), full_page=True)
    context.close()


def _go(page, title: str, heading: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for()
    settle(page)


#: Words that stay in Latin letters in the Russian interface: method and library names, units,
#: formats, the article's symbols, settings' values, and the taxpayer table's own column names
#: and values (data). Streamlit's own file uploader ("Upload", "200MB per file") has no
#: translation and is not scanned (see english_words).
ALLOWED = {
    # the switch names each language in its own ("Язык · Language", "English")
    "english", "language", "clustermap",
    # methods, libraries, formats, units, symbols
    "k-means", "means", "dbscan", "macqueen", "lloyd", "keras", "dask", "tcp", "csv", "xlsx",
    "excel", "utf-8", "utf", "bom", "json", "ari", "som", "plotly", "streamlit", "relu",
    "softmax", "adam", "id", "sha-256", "sha", "png", "svg", "sigma", "eta", "theta", "phi",
    "ward", "gmm", "hdbscan", "agglomerative", "spectral", "cp1251", "windows-1251", "nan",
    "tensorflow", "jax", "max", "min", "log", "exp", "rbf", "knn", "umatrix", "x1", "x2",
    "ods", "pca", "shift", "tau", "eps", "ester", "et", "al",  # a key, a symbol, a citation
    # settings' values as the configuration writes them (solver, filter = "cochran+level")
    "dense", "sparse", "approx", "auto", "cochran", "level",
    # a checkbox cell's accessible text in a table
    "true", "false",
    # the taxpayer table's columns and values, the bundled file's name
    "enterprise_id", "cost_of_sales", "net_profit", "fixed_assets", "revenue", "revenue_prev",
    "phi11", "phi13", "phi21", "phi24", "phi1", "phi2", "planted_group", "average", "sound",
    "weak", "strong", "outlier", "taxpayers_synthetic_ru", "label", "true_label",
}
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*[A-Za-z0-9]|[A-Za-z]")


def english_words(page) -> list[str]:
    """The Latin-letter words of the rendered page (main area and sidebar; tables are drawn on a
    canvas, their cells are data) outside :data:`ALLOWED`, single letters (formula symbols: M,
    K, T, N) and words of a code block (a configuration's keys)."""
    text = page.evaluate("""() => {
        const skip = el => el.closest('[data-testid="stCode"], [data-testid="stIconMaterial"], '
            + '[data-testid="stAlertDynamicIcon"], [data-testid="stSkipToContent"], .modebar, '
            + '[data-testid="stFileUploaderDropzone"], [data-testid="stFileUploaderFile"], '
            + '[data-testid="stFileUploader"] button');
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const out = [];
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const el = n.parentElement;
            if (!el || skip(el)) continue;
            const style = window.getComputedStyle(el);
            if (style.display === 'none' || style.visibility === 'hidden') continue;
            if (style.fontFamily.includes('Material')) continue;  // an icon's name
            if (el.closest('script, style, noscript')) continue;
            out.push(n.textContent);
        }
        return out;
    }""")
    found = {}
    for piece in text:
        for w in _LATIN.findall(piece):
            if len(w) > 1 and w.lower() not in ALLOWED \
                    and not re.fullmatch(r"[A-Za-z]\d*|E\d+|[A-Z]\d+|p_\w+|HC\w*", w):
                found.setdefault(w, piece.strip()[:80])
    return [f"{w} ({found[w]!r})" for w in sorted(found)]


def check_russian(page, where: str, found: dict) -> None:
    """Note in ``found`` the English words that ``where`` shows to a Russian visitor (the
    test fails at its end naming them all, page by page)."""
    settle(page)
    words = english_words(page)
    if words:
        found[where] = words


def test_the_pages_in_russian_from_data_to_results(browser, server, tmp_path):
    """A Russian visitor's way through every page: the quick start's default data, a SOM, the
    recommended network and its download, Compare, the Russian taxpayer table uploaded, the
    quasi-Bayesian ensemble with its tabs, the run history; on each, no English word outside
    :data:`ALLOWED`, and a screenshot."""
    context, page = _russian_tab(browser, server)
    found: dict = {}
    check_russian(page, "home", found)
    page.get_by_role("button", name="1 · Создать данные по умолчанию").click()
    page.get_by_text("Созданы данные по умолчанию: три облака, 500 точек.").wait_for()
    _go(page, "Данные", "Данные")
    check_russian(page, "data (generated)", found)
    shot(page, "42-data-russian")
    _go(page, "Самоорганизующаяся карта", "Самоорганизующаяся карта")
    page.get_by_role("button", name="Обучить карту").click()
    page.get_by_role("heading", name="Результаты").wait_for(timeout=180_000)
    settle(page)
    check_russian(page, "SOM results", found)
    shot(page, "43-som-russian")
    _go(page, "Главная", "Быстрый старт")
    page.get_by_role("button", name="2 · Обучить рекомендуемую сеть").click()
    page.get_by_role("heading", name="Результаты").wait_for(timeout=240_000)
    settle(page)
    check_russian(page, "neural results", found)
    shot(page, "44-neural-russian")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Метки и вероятности (CSV)").click()
    assert open(dl.value.path(), "rb").read().startswith(b"\xef\xbb\xbf")  # a CSV for Excel
    assert dl.value.suggested_filename == "нейросеть_метки.csv"  # the file's name in Russian
    _go(page, "Сравнение", "Сравнение методов")
    page.get_by_role("button", name="Запустить сравнение").click()
    page.get_by_role("heading", name="Результаты").wait_for(timeout=240_000)
    settle(page)
    check_russian(page, "compare", found)
    shot(page, "45-compare-russian")

    _go(page, "Данные", "Данные")
    page.get_by_text("Загрузить CSV", exact=True).click()
    with page.expect_file_chooser() as fc:
        page.get_by_role("button", name=re.compile("Browse files|Upload|Выбрать|Загрузить")) \
            .first.click()
    fc.value.set_files(str(ROOT / "data" / "taxpayers_synthetic_ru.csv"))
    page.get_by_text(re.compile(r"taxpayers_synthetic_ru\.csv: строк — 120")).wait_for()
    settle(page)
    check_russian(page, "data (the Russian taxpayer table read)", found)
    page.get_by_role("button", name="Использовать эту таблицу").click()
    page.get_by_role("button", name="Подтвердить").click()  # the results leave the pages
    page.get_by_text(re.compile(r"объектов — 120, признаков — 5")).first.wait_for()
    settle(page)
    check_russian(page, "data (the taxpayer table in use)", found)
    shot(page, "47-data-taxpayers-russian")

    _go(page, "Квазибайесовский метод", "Квазибайесовский метод")
    set_number(page, "повторов на сеть", 2)  # 18 maps keep the test short on a busy machine
    page.get_by_text(re.compile(r"Выбрать M по кривой")).click()
    page.get_by_role("button", name="Запустить ансамбль").click()
    page.get_by_role("heading", name="Результаты").wait_for(timeout=360_000)
    settle(page)
    check_russian(page, "ensemble results", found)
    shot(page, "48-ensemble-russian")
    for tab, name in (("Фильтр (таблица 5)", "48b-ensemble-filter-russian"),
                      ("Решения", "48c-ensemble-decisions-russian"),
                      ("Профиль кластеров", "48d-ensemble-profile-russian"),
                      ("Апостериорные вероятности", "48e-ensemble-posterior-russian")):
        page.get_by_role("tab", name=tab).click()
        settle(page)
        check_russian(page, f"ensemble: {tab}", found)
        shot(page, name)
    _go(page, "История запусков", "История запусков")
    check_russian(page, "run history", found)
    shot(page, "46-history-russian")
    context.close()
    assert not found, f"English words in the Russian interface: {found}"
