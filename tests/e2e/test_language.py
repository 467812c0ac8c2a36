"""The language switch in a real browser: the browser's Russian locale opens the workbench in
Russian, the switch changes it, and the choice stays while the visitor moves between pages."""
from __future__ import annotations

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_browser import settle, shot


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


def test_the_pages_in_russian_from_data_to_results(browser, server):
    """A Russian visitor's way: the default data, a SOM, the recommended network, Compare, with
    each page's headings and buttons in Russian; a screenshot of each."""
    context, page = _russian_tab(browser, server)
    page.get_by_role("button", name="1 · Создать данные по умолчанию").click()
    page.get_by_text("Созданы данные по умолчанию: три облака, 500 точек.").wait_for()
    _go(page, "Данные", "Данные")
    shot(page, "42-data-russian")
    _go(page, "Самоорганизующаяся карта", "Самоорганизующаяся карта")
    page.get_by_role("button", name="Обучить карту").click()
    page.get_by_role("heading", name="Результаты").wait_for(timeout=180_000)
    shot(page, "43-som-russian")
    _go(page, "Главная", "Быстрый старт")
    page.get_by_role("button", name="2 · Обучить рекомендуемую сеть").click()
    page.get_by_role("heading", name="Результаты").wait_for(timeout=240_000)
    shot(page, "44-neural-russian")
    _go(page, "Сравнение", "Сравнение методов")
    page.get_by_role("button", name="Запустить сравнение").click()
    page.get_by_role("heading", name="Результаты").wait_for(timeout=240_000)
    shot(page, "45-compare-russian")
    _go(page, "История запусков", "История запусков")
    shot(page, "46-history-russian")
    context.close()
