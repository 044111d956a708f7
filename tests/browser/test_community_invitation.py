"""Communities in the browser: an owner invites, a newcomer signs up on a phone, a curator reviews
with the keyboard; every member page passes axe."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/community")


def _shot(page, shot, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    shot(page, f"community-{name}")


def _build(alice, django_user_model):
    from accounts.models import Community, Membership
    from conftest import make_image
    from galleries import services as gallery_services
    from galleries.tasks import process_asset

    olga = django_user_model.objects.create_user("olga", "olga@example.com", "olga-pass-123")
    carol = django_user_model.objects.create_user("carol", "carol@example.com", "carol-pass-123")
    community = Community.objects.create(
        name="Harbour Rowing", slug="harbour", visibility="members", description="Photos of the club's regattas."
    )
    Membership.objects.create(user=olga, community=community, role="owner")
    Membership.objects.create(user=carol, community=community, role="curator")
    gallery = gallery_services.gallery_create(owner=alice, title="Spring regatta")
    gallery_services.gallery_update(gallery=gallery, community=community, visibility="members")
    for i in range(3):
        photo, _ = gallery_services.photo_add(
            gallery=gallery, file=io.BytesIO(make_image("JPEG", size=(600, 400), colour=(30 + i * 60, 90, 160))),
            filename=f"race_{i}.jpg",
        )  # fmt: skip
        process_asset(photo.asset_id)
    for i in range(4):
        checked = gallery_services.photo_check(
            file=io.BytesIO(make_image("JPEG", size=(600, 400), colour=(200, 40 + i * 40, 60))),
            filename=f"drop_{i}.jpg",
        )
        photo, _ = gallery_services.photos_add(gallery=gallery, files=[checked], contributor="dave")[0]
        process_asset(photo.asset_id)
    return community, gallery


def _sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_the_invitation_flow_end_to_end(browser, live_server, alice, django_user_model, axe, shot):
    from accounts.models import Membership, User

    _build(alice, django_user_model)
    base = live_server.url

    owner = browser.new_context(viewport={"width": 1280, "height": 900})
    page = owner.new_page()
    _sign_in(page, base, "olga", "olga-pass-123")
    page.goto(f"{base}/c/harbour/invitations/")
    page.select_option("#inv-role", "contributor")
    page.fill("#inv-uses", "2")
    page.fill("#inv-label", "Dave from the crew")
    page.click("text=Make a link")
    link = page.locator("#new-link").input_value()
    assert "/join/" in link
    assert axe(page) == []
    _shot(page, shot, "invitations")
    page.goto(f"{base}/c/harbour/members/")
    assert axe(page) == []
    _shot(page, shot, "members")
    page.goto(f"{base}/c/harbour/settings/")
    assert axe(page) == []
    _shot(page, shot, "settings")
    page.goto(f"{base}/c/")
    assert axe(page) == []
    _shot(page, shot, "my-communities")
    owner.close()

    phone = browser.new_context(viewport={"width": 375, "height": 800})
    page = phone.new_page()
    page.goto(link)
    assert page.locator("h1").inner_text() == "Join Harbour Rowing"
    assert axe(page) == []
    _shot(page, shot, "join-phone")
    page.fill("#join-username", "dave")
    page.fill("#join-email", "dave@example.com")
    page.fill("#join-password", "1")
    page.click("text=Create account and join")
    page.wait_for_selector("#err-password")
    assert axe(page) == []
    _shot(page, shot, "join-errors-phone")
    page.fill("#join-password", "a-long-pass-phrase")
    page.click("text=Create account and join")
    page.wait_for_url(f"{base}/c/harbour/")
    assert "Spring regatta" in page.content()
    assert axe(page) == []
    _shot(page, shot, "community-phone")
    dave = User.objects.get(username="dave")
    assert Membership.objects.get(user=dave).role == "contributor" and not dave.is_staff
    phone.close()

    # The invitation allowed two uses; after a revoke it shows the clear "withdrawn" page (410).
    from accounts.models import Invitation

    Invitation.objects.update(revoked_at=Invitation.objects.get().created_at)
    visitor = browser.new_context(viewport={"width": 375, "height": 800})
    page = visitor.new_page()
    response = page.goto(link)
    assert response.status == 410 and page.locator("h1").inner_text() == "This invitation was withdrawn"
    assert axe(page) == []
    _shot(page, shot, "join-withdrawn-phone")
    page.goto(f"{base}/accounts/login/")
    page.click("text=Forgot your password?")
    page.fill("input[name=email]", "nobody@example.com")
    page.click("text=Send the link")
    assert page.locator("h1").inner_text() == "Check your mail"
    assert axe(page) == []
    _shot(page, shot, "password-reset-sent-phone")
    visitor.close()


def test_a_curator_reviews_the_queue_with_the_keyboard(browser, live_server, alice, django_user_model, axe, shot):
    from galleries.models import Photo

    _build(alice, django_user_model)
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _sign_in(page, base, "carol", "carol-pass-123")
    page.goto(f"{base}/c/harbour/queue/")
    assert "Waiting for a curator (4)" in page.locator("#queue-title").inner_text()
    assert axe(page) == []
    _shot(page, shot, "queue")
    page.keyboard.press("ArrowRight")  # approve the first
    page.wait_for_selector("text=Approved 1 photo")
    assert Photo.objects.filter(is_approved=False).count() == 3
    page.fill("#queue-reason", "Out of focus")
    page.locator("#queue .queue-item").first.focus()
    page.keyboard.press("ArrowLeft")  # reject the next, with the reason typed above
    page.wait_for_selector("text=Rejected 1 photo")
    assert Photo.objects.filter(is_approved=False).count() == 2
    _shot(page, shot, "queue-after-review")
    page.goto(f"{base}/c/harbour/")
    assert axe(page) == []
    _shot(page, shot, "community")
    context.close()


def test_a_contributor_drops_photos_from_a_phone(browser, live_server, alice, django_user_model, axe, shot, tmp_path):
    from accounts.models import Community, Membership
    from conftest import make_image
    from galleries.models import Photo

    _build(alice, django_user_model)
    dave = django_user_model.objects.create_user("dave", "dave@example.com", "dave-pass-123")
    Membership.objects.create(user=dave, community=Community.objects.get(), role="contributor")
    files = []
    for i in range(2):
        path = tmp_path / f"phone_{i}.jpg"
        path.write_bytes(make_image("JPEG", size=(800, 600), colour=(10, 120 + i * 40, 90)))
        files.append(str(path))
    base = live_server.url
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    _sign_in(page, base, "dave", "dave-pass-123")
    page.goto(f"{base}/c/harbour/drop/")
    page.wait_for_selector(".uppy-Dashboard")
    assert axe(page, "#drop-title") == []
    _shot(page, shot, "drop-phone")
    page.set_input_files(".uppy-Dashboard-input >> nth=0", files)
    page.click(".uppy-StatusBar-actionBtn--upload")
    page.wait_for_selector("#drop-done:not([hidden])", timeout=30000)
    assert "2 photos sent" in page.locator("#drop-done").inner_text()
    _shot(page, shot, "drop-done-phone")
    photos = Photo.objects.filter(contributor="dave", original_filename__startswith="phone_")
    assert photos.count() == 2 and not any(p.is_approved for p in photos)
    context.close()
