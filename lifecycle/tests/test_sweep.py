"""The lifecycle sweep: each step once, in order, safe to repeat and to kill (issue 11)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from conftest import stored_files
from galleries import lifecycle, services
from galleries.models import Asset, Gallery, Photo, PurgeRecord, State, StorageTombstone, Variant
from lifecycle.sweep import sweep
from sharing import services as sharing_services
from sharing.models import ShareLink


def files_of(asset: Asset) -> list[str]:
    return [asset.original_key, *Variant.objects.filter(asset=asset).values_list("key", flat=True)]


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


# --- states -------------------------------------------------------------------------------------


def test_a_gallery_moves_through_its_states_with_the_clock(alice, make_gallery, clock):
    gallery = make_gallery(alice, publish_at=clock.now + timedelta(days=1), expires_at=clock.now + timedelta(days=20))
    assert gallery.state == State.DRAFT and not gallery.is_open and gallery.published_at is None
    clock.advance(days=2)
    assert gallery.state == State.PUBLISHED and gallery.is_open
    clock.advance(days=12)
    assert gallery.state == State.EXPIRING and gallery.is_open
    clock.advance(days=7)
    assert gallery.state == State.EXPIRED and not gallery.is_open
    assert gallery.purge_at == gallery.expires_at + timedelta(days=30)
    services.gallery_trash(gallery=gallery)
    assert gallery.state == State.TRASH and gallery.purge_at == clock.now + timedelta(days=30)


def test_owners_see_their_drafts_and_expired_galleries_and_nobody_else_does(alice, bob, make_gallery, clock):
    from django.contrib.auth.models import AnonymousUser

    draft = make_gallery(alice, "Draft", publish_at=clock.now + timedelta(days=1))
    ending = make_gallery(alice, "Ending", expires_at=clock.now + timedelta(hours=1))
    clock.advance(hours=2)
    for viewer, expected in ((alice, {draft, ending}), (bob, set()), (AnonymousUser(), set())):
        assert set(Gallery.objects.visible_to(viewer).filter(pk__in=[draft.pk, ending.pk])) == expected
    assert not Gallery.objects.public().filter(pk__in=[draft.pk, ending.pk]).exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"expires_at": "2020-01-01T00:00:00Z"}, "in the past"),
        ({"publish_at": "2099-02-01T00:00:00Z", "expires_at": "2099-01-01T00:00:00Z"}, "before it is published"),
    ],
)
def test_the_api_refuses_dates_that_cannot_be(api_for, alice, make_gallery, body, message):
    gallery = make_gallery(alice)
    created = api_for(alice).post("/api/v1/galleries", {"title": "New", **body}, format="json")
    assert created.status_code == 400 and message in created.content.decode()
    changed = api_for(alice).patch(f"/api/v1/galleries/{gallery.pk}", body, format="json")
    assert changed.status_code == 400 and message in changed.content.decode()
    assert not Gallery.objects.filter(title="New").exists()


def test_an_expired_gallery_saved_again_with_its_old_date_is_not_refused(alice, make_gallery, clock):
    gallery = make_gallery(alice, expires_at=clock.now + timedelta(days=1))
    clock.advance(days=2)
    services.gallery_update(gallery=gallery, title="Renamed", expires_at=gallery.expires_at)
    assert Gallery.objects.get(pk=gallery.pk).title == "Renamed"


def test_the_api_shows_the_owner_the_state_and_the_purge_date(api_for, alice, make_gallery, clock):
    gallery = make_gallery(alice, expires_at=clock.now + timedelta(days=1))
    clock.advance(days=2)
    body = api_for(alice).get(f"/api/v1/galleries/{gallery.pk}").json()
    assert body["state"] == "expired"
    assert body["purge_at"].startswith((gallery.expires_at + timedelta(days=30)).date().isoformat())
    extended = api_for(alice).patch(
        f"/api/v1/galleries/{gallery.pk}", {"expires_at": (clock.now + timedelta(days=60)).isoformat()}, format="json"
    )
    assert extended.status_code == 200 and extended.json()["state"] == "published"
    assert extended.json()["purge_at"] is None
    cleared = api_for(alice).patch(f"/api/v1/galleries/{gallery.pk}", {"expires_at": None}, format="json")
    assert cleared.json()["expires_at"] is None


def test_the_admin_refuses_a_past_expiry_with_a_message(client_for, alice, make_gallery, clock):
    gallery = make_gallery(alice)
    page = client_for(alice).post(
        f"/admin/galleries/gallery/{gallery.pk}/change/",
        {
            "title": "Wedding",
            "description": "",
            "visibility": "public",
            "default_layout": "masonry",
            "expires_at_0": "2020-01-01",
            "expires_at_1": "10:00:00",
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
            "share_links-TOTAL_FORMS": "0",
            "share_links-INITIAL_FORMS": "0",
        },
    )
    assert page.status_code == 200
    assert "The expiry date is in the past" in page.content.decode()
    assert Gallery.objects.get(pk=gallery.pk).expires_at is None


# --- the sweep ------------------------------------------------------------------------------------


def test_the_sweep_publishes_what_is_due_once(alice, make_gallery, clock):
    gallery = make_gallery(alice, publish_at=clock.now + timedelta(hours=1))
    version = gallery.content_version
    clock.advance(hours=2)
    first = sweep()
    gallery.refresh_from_db()
    assert gallery.published_at == gallery.publish_at and gallery.content_version == version + 1
    assert first.steps[0].done == 1 and sweep().steps[0].done == 0


def test_expiry_notices_go_to_the_owner_and_each_client_once(alice, make_gallery, add_photo, clock):
    gallery = make_gallery(alice, "Anna & Ben", expires_at=clock.now + timedelta(days=10))
    photo = add_photo(gallery)
    link = sharing_services.share_link_create(gallery=gallery, label="Anna")
    for visitor, email in (("v1", "anna@example.com"), ("v2", "ANNA@example.com"), ("v3", "ben@example.com")):
        sharing_services.selection_change(link=link, visitor=visitor, add=[photo], name=visitor, email=email)
    sharing_services.selection_change(link=link, visitor="v4", add=[photo], name="No mail")
    sweep()
    assert mail.outbox == []  # ten days ahead: not yet
    clock.advance(days=4)
    sweep()
    sweep()
    recipients = sorted(message.to[0].lower() for message in mail.outbox)
    assert recipients == ["alice@example.com", "anna@example.com", "ben@example.com"]
    owner = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert owner.subject.startswith("“Anna & Ben” expires on")
    assert f"https://photos.example.com/admin/galleries/gallery/{gallery.pk}/extend/" in owner.body
    client = next(m for m in mail.outbox if m.to == ["ben@example.com"])
    assert "https://photos.example.com" + link.get_absolute_url() in client.body
    assert client.alternatives and "<img" not in client.alternatives[0][0]
    # A new date is a new notice.
    services.gallery_extend(gallery=gallery, days=10)
    clock.advance(days=9)
    mail.outbox.clear()
    sweep()
    assert len(mail.outbox) == 3


@pytest.mark.parametrize("action", ["hide", "trash"])
def test_expiry_hides_or_trashes_and_tells_the_owner_the_purge_date(settings, alice, make_gallery, clock, action):
    settings.GALLERY_EXPIRED_ACTION = action
    gallery = make_gallery(alice, expires_at=clock.now + timedelta(hours=1))
    clock.advance(days=1)
    sweep()
    sweep()
    gallery.refresh_from_db()
    assert gallery.state == (State.TRASH if action == "trash" else State.EXPIRED)
    expired = [m for m in mail.outbox if "has expired" in m.subject]
    assert len(expired) == 1
    purge_day = gallery.purge_at.strftime("%-d %B %Y")
    assert purge_day in expired[0].body


def test_purge_deletes_rows_and_files_but_keeps_what_another_gallery_holds(
    alice, bob, make_gallery, add_photo, media_root, clock
):
    gallery = make_gallery(alice, "Old", expires_at=clock.now + timedelta(hours=1))
    own = [add_photo(gallery) for _ in range(3)]
    shared = add_photo(gallery)
    other = make_gallery(bob, "Bob's")
    sharing_services.share_link_create(gallery=gallery, label="Client")
    kept = add_photo(other, data=Path(media_root / shared.asset.original_key).read_bytes())
    assert kept.asset_id == shared.asset_id
    own_files = [key for photo in own for key in files_of(photo.asset)]
    own_bytes = sum((media_root / key).stat().st_size for key in own_files)
    shared_files = files_of(shared.asset)
    other_before = Gallery.objects.get(pk=other.pk).storage_bytes
    assert other_before > 0
    clock.advance(days=31)
    report = sweep()
    assert not Gallery.objects.filter(pk=gallery.pk).exists()
    assert not ShareLink.objects.filter(gallery_id=gallery.pk).exists()
    assert not Photo.objects.filter(pk__in=[p.pk for p in own]).exists()
    assert not Asset.objects.filter(pk__in=[p.asset_id for p in own]).exists()
    files = stored_files(media_root)
    assert not set(own_files) & set(files)
    assert set(shared_files) <= set(files)
    assert Gallery.objects.get(pk=other.pk).storage_bytes == other_before
    record = PurgeRecord.objects.get(gallery_id=gallery.pk)
    assert record.reason == "expired" and record.finished_at is not None
    assert record.photos_deleted == 4 and record.files_deleted == len(own_files)
    assert record.bytes_freed == own_bytes
    assert StorageTombstone.objects.count() == 0
    assert "purged 1" in report.summary()
    page = Client().get(f"/g/{other.slug}/")
    assert page.status_code == 200 and str(kept.pk) in page.content.decode()


def test_purged_bytes_are_those_of_the_files(alice, make_gallery, add_photo, media_root, clock):
    gallery = make_gallery(alice, expires_at=clock.now + timedelta(hours=1))
    photos = [add_photo(gallery) for _ in range(2)]
    keys = [key for photo in photos for key in files_of(photo.asset)]
    sizes = sum((media_root / key).stat().st_size for key in keys)
    assert Gallery.objects.get(pk=gallery.pk).storage_bytes == sizes
    clock.advance(days=31)
    sweep()
    assert PurgeRecord.objects.get(gallery_id=gallery.pk).bytes_freed == sizes


def test_the_trash_can_be_restored_until_the_purge(alice, make_gallery, add_photo, clock):
    gallery = make_gallery(alice, expires_at=clock.now + timedelta(days=2))
    add_photo(gallery)
    clock.advance(days=3)
    services.gallery_trash(gallery=gallery)
    clock.advance(days=29)
    sweep()
    services.gallery_restore(gallery=gallery)
    gallery.refresh_from_db()
    assert gallery.state == State.PUBLISHED and gallery.expires_at is None  # the passed expiry is cleared
    clock.advance(days=400)
    sweep()
    assert Gallery.objects.filter(pk=gallery.pk).exists()


def test_a_purge_warning_comes_once_before_the_purge(alice, make_gallery, clock):
    gallery = make_gallery(alice)
    services.gallery_trash(gallery=gallery)
    clock.advance(days=26)
    sweep()
    assert not [s for s in subjects() if "will be deleted" in s]
    clock.advance(days=2)
    sweep()
    sweep()
    assert len([s for s in subjects() if "will be deleted" in s]) == 1
    clock.advance(days=3)
    sweep()
    assert not Gallery.objects.filter(pk=gallery.pk).exists()


def test_an_owner_who_restores_at_the_last_moment_wins(alice, make_gallery, add_photo, clock, monkeypatch):
    gallery = make_gallery(alice)
    add_photo(gallery)
    services.gallery_trash(gallery=gallery)
    clock.advance(days=31)
    real = lifecycle.gallery_purge

    def restore_first(**kwargs):
        Gallery.objects.filter(pk=gallery.pk).update(deleted_at=None)
        return real(**kwargs)

    monkeypatch.setattr(lifecycle, "gallery_purge", restore_first)
    sweep()
    assert Gallery.objects.get(pk=gallery.pk).photos.count() == 1
    assert not PurgeRecord.objects.exists()


def test_a_sweep_killed_between_batches_leaves_nothing_wrong_and_the_next_run_finishes(
    settings, alice, make_gallery, add_photo, media_root, clock, monkeypatch
):
    settings.LIFECYCLE_BATCH = 2
    gallery = make_gallery(alice, expires_at=clock.now + timedelta(hours=1))
    photos = [add_photo(gallery) for _ in range(5)]
    keys = [key for photo in photos for key in files_of(photo.asset)]
    clock.advance(days=31)
    real_flush = lifecycle.flush_tombstones
    calls = {"n": 0}

    def killed(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # killed after the first batch's rows went, before its files did
        return real_flush(**kwargs)

    monkeypatch.setattr(lifecycle, "flush_tombstones", killed)
    with pytest.raises(KeyboardInterrupt):
        sweep()
    # Every row left still has its files; every file whose rows went has a tombstone.
    for asset in Asset.objects.filter(photos__gallery=gallery):
        assert all((media_root / key).exists() for key in files_of(asset))
    on_disk = set(stored_files(media_root))
    buried = set(StorageTombstone.objects.values_list("key", flat=True))
    live = {key for asset in Asset.objects.all() for key in files_of(asset)}
    assert {key for key in keys if key in on_disk} <= live | buried
    record = PurgeRecord.objects.get(gallery_id=gallery.pk)
    assert record.finished_at is None
    counted = record.files_deleted
    assert counted == len([k for k in keys if k not in on_disk and k not in buried])

    monkeypatch.setattr(lifecycle, "flush_tombstones", real_flush)
    sweep()
    record.refresh_from_db()
    assert record.finished_at is not None and record.photos_deleted == 5
    assert record.files_deleted == len(keys)
    assert not set(keys) & set(stored_files(media_root))
    assert not Gallery.objects.filter(pk=gallery.pk).exists() and StorageTombstone.objects.count() == 0


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(alice, make_gallery, add_photo, clock, capsys):
    gallery = make_gallery(alice, "Summer", expires_at=clock.now + timedelta(hours=1))
    add_photo(gallery)
    clock.advance(days=31)
    call_command("lifecycle_sweep", "--dry-run")
    out = capsys.readouterr().out
    assert "purged: 1 — Summer" in out and "would do" in out
    gallery.refresh_from_db()
    assert gallery.expired_for is None and mail.outbox == [] and not PurgeRecord.objects.exists()
    call_command("lifecycle_sweep")
    assert "did:" in capsys.readouterr().out
    assert not Gallery.objects.filter(pk=gallery.pk).exists()


def test_the_sweep_stops_at_its_budget_and_the_next_run_carries_on(alice, make_gallery, clock, settings):
    settings.LIFECYCLE_BATCH = 1
    galleries = [make_gallery(alice, f"G{i}", expires_at=clock.now + timedelta(hours=1)) for i in range(3)]
    clock.advance(days=2)
    report = sweep(budget=timedelta(microseconds=1))
    assert report.unfinished
    sweep()
    assert all(Gallery.objects.get(pk=g.pk).expired_for is not None for g in galleries)


def test_orphan_assets_and_leftover_tombstones_are_collected(alice, make_gallery, add_photo, media_root, clock):
    gallery = make_gallery(alice)
    photo = add_photo(gallery)
    keys = files_of(photo.asset)
    Photo.objects.filter(pk=photo.pk).delete()  # as if a process died between its steps
    sweep()
    assert Asset.objects.filter(pk=photo.asset_id).exists()  # within the grace: an upload may be under way
    clock.advance(hours=2)
    sweep()
    assert not Asset.objects.filter(pk=photo.asset_id).exists()
    assert not set(keys) & set(stored_files(media_root))


def test_guests_photos_are_announced_in_one_mail_per_gallery(alice, make_gallery, add_photo, clock):
    gallery = make_gallery(alice, "Party")
    for _ in range(3):
        add_photo(gallery, contributor="Chris")
    add_photo(gallery, contributor="Dana")
    sweep()
    sweep()
    mails = [m for m in mail.outbox if "from guests" in m.subject]
    assert len(mails) == 1
    assert mails[0].subject == "4 new photos from guests in “Party”"
    assert "Chris, Dana" in mails[0].body
    clock.advance(minutes=10)
    add_photo(gallery, contributor="Eve")
    sweep()
    assert len([m for m in mail.outbox if "from guests" in m.subject]) == 1  # at most hourly
    clock.advance(hours=2)
    sweep()
    later = [m for m in mail.outbox if "from guests" in m.subject]
    assert len(later) == 2 and later[1].subject == "1 new photo from guests in “Party”"
    assert "5 photos wait" in later[1].body


def test_the_whole_life_through_a_real_mail_server(alice, make_gallery, add_photo, media_root, clock, smtp_server):
    """The issue's "done when": set to expire, the client is told, it expires, the files go after the
    grace, the storage numbers drop, and the admin shows it all."""
    gallery = make_gallery(alice, "Wedding", expires_at=clock.now + timedelta(days=10))
    photos = [add_photo(gallery) for _ in range(2)]
    link = sharing_services.share_link_create(gallery=gallery, label="Anna")
    sharing_services.selection_change(link=link, visitor="v", add=photos[:1], name="Anna", email="anna@example.com")
    storage_before = Gallery.objects.get(pk=gallery.pk).storage_bytes
    assert lifecycle.owner_storage([alice.pk]) == {alice.pk: storage_before}

    clock.advance(days=5)
    sweep()
    assert sorted(r.rcpt_tos[0] for r in smtp_server.messages) == ["alice@example.com", "anna@example.com"]
    clock.advance(days=6)
    sweep()
    assert any("has expired" in r.message["Subject"] for r in smtp_server.messages)
    admin = Client()
    admin.force_login(alice)
    listing = admin.get("/admin/galleries/gallery/?state=expired")
    assert listing.status_code == 200, listing
    listing = listing.content.decode()
    assert "Wedding" in listing and "purged on" in listing
    clock.advance(days=31)
    sweep()
    assert not Gallery.objects.filter(pk=gallery.pk).exists()
    assert lifecycle.owner_storage([alice.pk]) == {}
    assert not [k for p in photos for k in [p.asset.original_key] if k in stored_files(media_root)]
    admin.force_login(alice)  # a month later: the session from before has ended
    page = admin.get("/admin/galleries/gallery/storage/").content.decode()
    assert "Wedding" in page and "Expired" in page


def test_the_owner_sees_on_the_page_why_visitors_do_not(client_for, alice, make_gallery, clock):
    draft = make_gallery(alice, "Soon", publish_at=clock.now + timedelta(days=1))
    ended = make_gallery(alice, "Ended", expires_at=clock.now + timedelta(hours=1))
    clock.advance(hours=2)
    owner = client_for(alice)
    assert "Draft: only you see it until" in owner.get(f"/g/{draft.slug}/").content.decode()
    page = owner.get(f"/g/{ended.slug}/").content.decode()
    assert "Expired on" in page and "deleted for good on" in page
    assert Client().get(f"/g/{ended.slug}/").status_code == 404
    published = make_gallery(alice, "Open")
    assert "state-note" not in owner.get(f"/g/{published.slug}/").content.decode()


def test_a_purge_empties_local_storage_and_the_bucket_alike(storage, alice, bob, make_gallery, add_photo, clock):
    """The same purge on local files and on S3 (SeaweedFS): the purged photos' objects go, the bytes
    another owner's gallery still holds stay."""
    gallery = make_gallery(alice, "Old", expires_at=clock.now + timedelta(hours=1))
    own = add_photo(gallery)
    shared = add_photo(gallery)
    other = make_gallery(bob, "Kept")
    kept = add_photo(other, data=storage.read(shared.asset.original_key))
    assert kept.asset_id == shared.asset_id
    own_keys, shared_keys = files_of(own.asset), files_of(shared.asset)
    assert set(own_keys + shared_keys) <= set(storage.names())
    clock.advance(days=31)
    sweep()
    names = set(storage.names())
    assert not set(own_keys) & names
    assert set(shared_keys) <= names
    assert PurgeRecord.objects.get(gallery_id=gallery.pk).files_deleted == len(own_keys)
