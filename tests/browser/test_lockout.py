"""A sign-in locked out after too many wrong passwords: a clear page, and the real user elsewhere unaffected."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_locked_out_sign_in_gets_a_clear_page(browser, live_server, alice, shot, settings):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "not-her-password")
        page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Too many attempts"
    assert "Try again in 15 minutes" in page.content()
    shot(page, "login-locked-out-phone")
    context.close()
