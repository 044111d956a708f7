"""Every lifecycle state seen from every door (issue 11).

For one public gallery in each state (draft, published, expiring soon, expired and hidden, expired
and moved to the trash by the sweep, trashed by its owner, purged), each viewer (the owner, another
photographer, an anonymous visitor, a share-link holder) calls each door for real: pages, the API,
the admin, the share link's page, JSON and ZIP, and the media URLs handed out before the change.

Media URLs of the gallery's own pages are signed with an expiry and not bound to anything else
(docs/architecture.md, "Media URLs"): within MEDIA_URL_TTL they keep working whatever the gallery's
state, until the file is gone. URLs handed out through a share link ask the link on every request
and stop (410) as soon as the gallery stops being open.
"""

from __future__ import annotations

import re
import zipfile
from datetime import timedelta
from io import BytesIO

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from rest_framework.test import APIClient

from conftest import make_image, stored_files
from galleries import services
from galleries.models import Gallery, Photo, PurgeRecord, Variant
from lifecycle.sweep import sweep
from sharing import services as sharing_services

pytestmark = pytest.mark.django_db

STATES = ["draft", "published", "expiring", "expired", "expired_trash", "trash", "purged"]
OPEN = {"published", "expiring"}
# Where the owner still sees the gallery on its pages and in the API: drafts and expired (hidden)
# galleries, not the trash (restore it first).
OWNER_SEES = {"draft", "published", "expiring", "expired"}
# A share link's own doors (page, JSON, ZIP): a draft or trashed gallery is "no such link" (404),
# an expired one "expired" (410). A gallery the sweep moved to the trash is in the trash: 404.
LINK_STATUS = {
    "draft": 404,
    "published": 200,
    "expiring": 200,
    "expired": 410,
    "expired_trash": 404,
    "trash": 404,
    "purged": 404,
}
STATE_FIELD = {
    "draft": "draft",
    "published": "published",
    "expiring": "expiring",
    "expired": "expired",
    "expired_trash": "trash",
    "trash": "trash",
}

_VARIANT_URL = re.compile(r"/media/variants/[^\"' ]+")


def _media_urls(html: str) -> list[str]:
    return [m.group(0).replace("&amp;", "&") for m in _VARIANT_URL.finditer(html)]


def _url_for(urls: list[str], sha256: str) -> str:
    return next(url for url in urls if f"/{sha256}/" in url)


def _is_zip(response) -> bool:
    if response.status_code != 200 or response.get("Content-Type") != "application/zip":
        return False
    return zipfile.ZipFile(BytesIO(b"".join(response.streaming_content))).testzip() is None


class World:
    """alice's public gallery with two processed photos and a download link; bob's public gallery
    holding the same bytes as alice's first photo; the media URLs handed out while it was open."""

    def __init__(self, alice, bob, make_gallery, add_photo):
        self.alice, self.bob = alice, bob
        self.gallery = make_gallery(alice, title="Anna and Ben")
        self.shared_bytes = make_image("JPEG", size=(96, 72), colour=(10, 200, 90))
        self.photos = [
            add_photo(self.gallery, data=self.shared_bytes, filename="shared.jpg"),
            add_photo(self.gallery, filename="own.jpg"),
        ]
        self.other = make_gallery(bob, title="Bob's pick")
        self.other_photo, _ = services.photo_add(
            gallery=self.other, file=BytesIO(self.shared_bytes), filename="same-bytes.jpg"
        )  # the same asset: already processed
        self.link = sharing_services.share_link_create(gallery=self.gallery, label="Anna", allow_download=True)
        self.shared_sha, self.own_sha = (p.asset.sha256 for p in self.photos)
        # Handed out while the gallery was open: to a visitor of its page and to the link's holder.
        page = Client().get(f"/g/{self.gallery.slug}/")
        assert page.status_code == 200
        urls = _media_urls(page.content.decode())
        self.visitor_media = {"shared": _url_for(urls, self.shared_sha), "own": _url_for(urls, self.own_sha)}
        shared = Client().get(f"/s/{self.link.token}/")
        assert shared.status_code == 200
        link_urls = [url for url in _media_urls(shared.content.decode()) if "&l=" in url]
        self.link_media = _url_for(link_urls, self.own_sha)
        self.files = {p.asset.sha256: self._files_of(p.asset) for p in self.photos}
        for keys in self.files.values():
            assert all((django_settings.MEDIA_ROOT / key).is_file() for key in keys)

    @staticmethod
    def _files_of(asset) -> list[str]:
        return [asset.original_key, *Variant.objects.filter(asset=asset).values_list("key", flat=True)]

    def move_to(self, state: str, clock, settings) -> None:
        g = self.gallery
        if state == "draft":
            services.gallery_update(gallery=g, publish_at=clock.now + timedelta(days=2))
        elif state == "expiring":
            services.gallery_update(gallery=g, expires_at=clock.now + timedelta(days=3))
        elif state in ("expired", "expired_trash"):
            settings.GALLERY_EXPIRED_ACTION = "hide" if state == "expired" else "trash"
            services.gallery_update(gallery=g, expires_at=clock.now + timedelta(hours=1))
            clock.advance(hours=2)
            sweep()
        elif state == "trash":
            services.gallery_trash(gallery=g)
        elif state == "purged":
            services.gallery_update(gallery=g, expires_at=clock.now + timedelta(hours=1))
            clock.advance(hours=2)
            sweep()  # expires it
            clock.advance(days=settings.GALLERY_PURGE_AFTER + 1)
            sweep()  # past the grace: purged
        if state != "purged":
            g.refresh_from_db()


@pytest.fixture
def world(alice, bob, make_gallery, add_photo):
    return World(alice, bob, make_gallery, add_photo)


def _page_client(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _api_client(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


@pytest.mark.parametrize("state", STATES)
def test_each_state_from_every_door(world, state, clock, settings):
    gallery_id, slug, token = world.gallery.pk, world.gallery.slug, world.link.token
    photo_id = world.photos[1].pk
    title = world.gallery.title
    world.move_to(state, clock, settings)
    failures: list[str] = []

    def check(what: str, got, want) -> None:
        if got != want:
            failures.append(f"{state} {what}: got {got!r}, want {want!r}")

    viewers = {"owner": world.alice, "other photographer": world.bob, "anonymous": None}
    for name, user in viewers.items():
        sees = state in (OWNER_SEES if name == "owner" else OPEN)
        want = 200 if sees else 404
        # Pages (sessions are made after the clock moved, so they have not timed out).
        c = _page_client(user)
        check(f"{name} /g/", c.get(f"/g/{slug}/").status_code, want)
        check(f"{name} photo page", c.get(f"/g/{slug}/p/{photo_id}/").status_code, want)
        fragment = c.get(f"/g/{slug}/?page=1", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="x")
        check(f"{name} htmx fragment", fragment.status_code, want)
        home = c.get("/")
        check(f"{name} home status", home.status_code, 200)
        check(f"{name} listed on home", title in home.content.decode(), state in OPEN)
        # API
        api = _api_client(user)
        detail = api.get(f"/api/v1/galleries/{gallery_id}")
        owner_reads = name == "owner" and state != "purged"  # the owner reads it in the trash too
        check(f"{name} api gallery", detail.status_code, 200 if (owner_reads or sees) else 404)
        listed = [row["id"] for row in api.get("/api/v1/galleries").json()["results"]]
        # A photographer's list holds their own galleries only; everyone else's the open public ones.
        check(f"{name} api list", str(gallery_id) in listed, sees and name != "other photographer")
        check(f"{name} api photos", api.get(f"/api/v1/galleries/{gallery_id}/photos").status_code, want)
        check(f"{name} api photo", api.get(f"/api/v1/photos/{photo_id}").status_code, want)

    # The owner's API answer names the state and the purge date.
    if state != "purged":
        body = _api_client(world.alice).get(f"/api/v1/galleries/{gallery_id}").json()
        check("owner api state", body["state"], STATE_FIELD[state])
        purge_at = world.gallery.purge_at
        check("owner api purge_at", body["purge_at"] and parse_datetime(body["purge_at"]), purge_at)
        check(
            "purge_at set when expired or in the trash",
            purge_at is not None,
            state in ("expired", "expired_trash", "trash"),
        )
        # Strangers never learn the purge date.
        if state in OPEN:
            check(
                "anonymous api purge_at", _api_client().get(f"/api/v1/galleries/{gallery_id}").json()["purge_at"], None
            )

    # Admin: the owner's change page, and the state column with the purge date.
    admin = _page_client(world.alice)
    change = admin.get(f"/admin/galleries/gallery/{gallery_id}/change/")
    if state == "purged":
        # Django's admin answers an unknown object with a redirect to the admin index ("… doesn't
        # exist. Perhaps it was deleted?"), not a 404.
        check("owner admin change page", change.status_code, 302)
    else:
        check("owner admin change page", change.status_code, 200)
        changelist = admin.get("/admin/galleries/gallery/").content.decode()
        check("owner admin changelist lists it", title in changelist, True)
        if world.gallery.purge_at is not None:
            when = f"purged on {date_format(world.gallery.purge_at, 'j M Y')}"
            check("owner admin state column has the purge date", when in changelist, True)

    # The share link's own doors, for its holder.
    holder = _page_client()
    want = LINK_STATUS[state]
    check("link page", holder.get(f"/s/{token}/").status_code, want)
    check("link photo page", holder.get(f"/s/{token}/p/{photo_id}/").status_code, want)
    check("link original download", holder.get(f"/s/{token}/p/{photo_id}/download").status_code, want)
    check("link api", _api_client().get(f"/api/v1/shared/{token}").status_code, want)
    zipped = holder.get(f"/s/{token}/download.zip")
    check("link zip", zipped.status_code, want)
    if want == 200:
        check("link zip is a zip", _is_zip(zipped), True)
    # Link-bound media URLs handed out while it was open stop once it is not.
    check("link-bound media", Client().get(world.link_media).status_code, 200 if state in OPEN else 410)

    # The gallery page's media URLs live until their TTL; after a purge the unique file is gone.
    check(
        "visitor media (own bytes)",
        Client().get(world.visitor_media["own"]).status_code,
        404 if state == "purged" else 200,
    )
    check("visitor media (bytes bob holds too)", Client().get(world.visitor_media["shared"]).status_code, 200)

    assert not failures, "\n".join(failures)


def test_purged_gallery_leaves_no_file_but_the_bytes_another_gallery_holds(world, clock, settings, media_root):
    other_bytes_before = Gallery.objects.get(pk=world.other.pk).storage_bytes
    world.move_to("purged", clock, settings)

    assert not Gallery.objects.filter(pk=world.gallery.pk).exists()
    assert not Photo.objects.filter(pk__in=[p.pk for p in world.photos]).exists()
    record = PurgeRecord.objects.get(gallery_id=world.gallery.pk)
    assert record.finished_at is not None and record.photos_deleted == 2
    on_disk = set(stored_files(media_root))
    own_files = world.files[world.own_sha]
    assert not on_disk & set(own_files), "a file of the purged gallery's own photo is left"
    assert record.files_deleted == len(own_files)
    # The photo bob holds the same bytes of keeps its original and every variant.
    shared_files = world.files[world.shared_sha]
    assert len(shared_files) > 1 and set(shared_files) <= on_disk
    assert Variant.objects.filter(asset_id=world.other_photo.asset_id).count() == len(shared_files) - 1
    assert Gallery.objects.get(pk=world.other.pk).storage_bytes == other_bytes_before
    # bob's page still shows it, and its image loads.
    page = Client().get(f"/g/{world.other.slug}/")
    assert page.status_code == 200
    url = _url_for(_media_urls(page.content.decode()), world.shared_sha)
    assert Client().get(url).status_code == 200
    assert Client().get(f"/g/{world.other.slug}/p/{world.other_photo.pk}/").status_code == 200
