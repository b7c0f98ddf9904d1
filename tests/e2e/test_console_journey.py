"""A shift leader logs in, sees Baiyun on the map, clicks a unit grid, and switches to English."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import shot
from zhili.identity.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e


def _login(page, base: str, username: str, next_path: str = "/map") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}{next_path}")
    assert "/login" in page.url, "an anonymous visitor must be sent to the login page"
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}*")


def test_shift_leader_sees_the_district_map_and_a_grid_popup(page, live_server) -> None:
    _login(page, live_server, "shift_leader")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    # The district and its 24 streets are drawn as vector paths (no tiles needed).
    page.wait_for_function("document.querySelectorAll('path.leaflet-interactive').length >= 24",
                           timeout=15000)
    shot(page, "map-district")
    # Zoom into a built-up street until unit grids load, then click one.
    page.evaluate("window.zhiliMap.setView([23.175, 113.27], 17)")
    page.wait_for_function("document.querySelectorAll('path.zhili-grid').length > 0", timeout=15000)
    page.locator("path.zhili-grid").first.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    text = popup.inner_text()
    assert "440111" in text and any(ch.isdigit() for ch in text)
    code = next(tok for tok in text.split() if tok.startswith("440111") and len(tok) == 15)
    assert code.isdigit()
    shot(page, "map-grid-popup")


def test_console_switches_to_english_and_back(page, live_server) -> None:
    _login(page, live_server, "admin")
    page.click("a[lang=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("a[lang=zh-CN]").inner_text() == "中文"
    shot(page, "map-english")
    page.click("a[lang=zh-CN]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_login_page_on_a_phone_shows_a_readable_error_for_a_wrong_password(browser, live_server) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "inspector")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" in page.url
    assert page.locator(".flash.error, .error").count() > 0
    shot(page, "login-phone-error")
    context.close()
