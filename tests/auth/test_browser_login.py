"""In headless Chromium: redirect to the form, sign in, funders' page without CSP errors, refusals."""

from __future__ import annotations

import time
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.auth.conftest import PASSWORD, AccessEnv


@pytest.fixture(scope="module")
def own_driver() -> Any:
    """A browser of this module's own (the session's shared one keeps its cookies)."""
    from tests.plugins.browser import chrome

    with chrome(window=(1400, 900)) as d:
        yield d


@pytest.mark.browser
def test_sign_in_and_pages_in_chromium(live_url: str, own_driver: Any, access_env: AccessEnv, artifacts: Any) -> None:
    from app.security import session
    from tests.plugins import app_session
    from tests.plugins.browser import console_errors, wait_for

    driver = own_driver
    driver.delete_all_cookies()
    try:
        driver.get(live_url + "/impact")
        wait_for(lambda: driver.find_element(By.ID, "login-username"), message="sign-in form")
        assert "/login?next=/impact" in driver.current_url
        # wrong password: message, still on the form
        driver.find_element(By.ID, "login-username").send_keys("financeur")
        driver.find_element(By.ID, "login-password").send_keys("pas le bon mot de passe")
        driver.find_element(By.ID, "login-submit").click()
        wait_for(lambda: driver.find_element(By.ID, "login-error"), message="error message")
        app_session.browser_sign_in(driver, live_url, "financeur", PASSWORD)
        cookie = driver.get_cookie(session.SESSION_COOKIE)
        assert cookie and cookie["httpOnly"] and cookie["secure"]
        driver.get(live_url + "/impact")
        wait_for(lambda: driver.find_element(By.ID, "impact-kpi-households"), message="headline figures")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#impact-map path.leaflet-interactive"),
                 message="QPV polygons")
        assert "dataFrame" not in driver.page_source
        links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "a.nav-link")]
        assert any(h.endswith("/impact") for h in links) and not any(h.rstrip("/").endswith(":" + live_url.rsplit(":", 1)[1]) for h in links)
        driver.save_screenshot(str(artifacts / "impact-financeur.png"))
        errors = [e for e in console_errors(driver) if "favicon" not in e["message"]]
        assert errors == [], errors
        # a page the role may not see: a clear refusal, no content
        driver.get(live_url + "/donnees")
        wait_for(lambda: driver.find_element(By.ID, "donnees-built-at") or True, message="données")
        driver.get(live_url + "/terrain")
        wait_for(lambda: driver.find_elements(By.ID, "auth-denied") or driver.find_elements(By.TAG_NAME, "h1"),
                 message="refusal or not-found page")
    finally:
        driver.delete_all_cookies()


@pytest.mark.browser
def test_admin_sees_every_page_without_csp_errors(live_url: str, own_driver: Any, access_env: AccessEnv) -> None:
    import dash

    from tests.plugins import app_session
    from tests.plugins.browser import console_errors, wait_for

    driver = own_driver
    driver.delete_all_cookies()
    try:
        app_session.browser_sign_in(driver, live_url, "admin", PASSWORD)
        for page in dash.page_registry.values():
            driver.get(live_url + page["path"])
            wait_for(lambda: driver.find_elements(By.TAG_NAME, "h1") or driver.find_elements(By.CLASS_NAME, "leaflet-container"),
                     message=page["path"])
            time.sleep(2)  # late requests (layers, async components) would report violations now
            errors = [e for e in console_errors(driver)
                      if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]
            assert errors == [], (page["path"], errors)
            assert not driver.find_elements(By.ID, "auth-denied"), page["path"]
    finally:
        driver.delete_all_cookies()
