"""The web page in real headless Debian chromium (Selenium + chromedriver), against the real server."""

import os
import shutil

import pytest

from conftest import FIXTURES, SEED

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser():
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are required on CI (`make browser` installs them)")
        pytest.skip("Debian chromium/chromedriver not installed: run `make browser`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    yield driver
    driver.quit()


def test_page_classifies_the_seed_article(default_model, server_factory, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    s = server_factory(default_model)
    browser.get(s.url + "/")
    WebDriverWait(browser, 30).until(EC.text_to_be_present_in_element((By.ID, "model-info"), "stance"))
    box = browser.find_element(By.ID, "input")
    article = (FIXTURES / "seed_article.txt").read_text()
    browser.execute_script("arguments[0].value = arguments[1];", box, article)
    browser.find_element(By.ID, "analyse").click()
    WebDriverWait(browser, 60).until(EC.text_to_be_present_in_element((By.ID, "status"), "statements classified"))
    items = browser.find_elements(By.CSS_SELECTOR, "#results li.statement")
    assert len(items) >= 6
    got = {li.find_element(By.CSS_SELECTOR, ".text").text: li.get_attribute("data-label") for li in items}
    assert set(got.values()) <= {"conciliatory", "defensive", "accusatory", "neutral"}
    assert next(lab for t, lab in got.items() if "hysteria" in t) == "accusatory"
    assert next(lab for t, lab in got.items() if "consensus reached" in t) == "conciliatory"
    assert any("groundless accusations" in t for t in got)
    speakers = {e.text for e in browser.find_elements(By.CSS_SELECTOR, "#results .speaker")}
    assert "Gao Feng" in speakers and any("Ministry of Foreign Affairs" in x for x in speakers)
    assert browser.find_elements(By.CSS_SELECTOR, "#results .bar div"), "probability bars are drawn"
    assert browser.find_elements(By.CSS_SELECTOR, "#results mark"), "driving words are highlighted"


def test_page_classifies_lines_and_shows_errors(default_model, server_factory, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    s = server_factory(default_model, max_texts=3)
    browser.get(s.url + "/")
    box = browser.find_element(By.ID, "input")
    texts = list(SEED)
    box.send_keys("\n".join(texts[:2]))
    browser.find_element(By.ID, "classify").click()
    WebDriverWait(browser, 60).until(EC.text_to_be_present_in_element((By.ID, "status"), "2 statements"))
    labels = [li.get_attribute("data-label") for li in browser.find_elements(By.CSS_SELECTOR, "#results li")]
    assert labels == [SEED[t] for t in texts[:2]]
    box.clear()
    box.send_keys("\n".join(texts))  # 4 lines, limit 3: the API's 413 message is shown
    browser.find_element(By.ID, "classify").click()
    WebDriverWait(browser, 30).until(EC.text_to_be_present_in_element((By.ID, "status"), "limit is 3"))
    assert "error" in browser.find_element(By.ID, "status").get_attribute("class")
