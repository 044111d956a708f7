"""Star ratings and colour labels (XMP sidecars and embedded) become the photographer's initial picks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from folders.models import ImportJob
from folders.services import Picks
from folders.tests.conftest import by_path, photo
from galleries import services as gallery_services
from galleries.models import Photo

pytestmark = pytest.mark.django_db


def xmp(rating: int | None = None, label: str = "") -> bytes:
    attrs = (f' xmp:Rating="{rating}"' if rating is not None else "") + (f' xmp:Label="{label}"' if label else "")
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"' + attrs.encode() + b"/>"
        b"</rdf:RDF></x:xmpmeta>"
    )


@pytest.fixture
def shoot(import_root: Path) -> Path:
    """Five photos as Lightroom, Capture One and darktable leave them."""
    photo(import_root / "a-four-red.jpg", colour=(10, 0, 0))
    (import_root / "a-four-red.xmp").write_bytes(xmp(4, "Red"))  # Lightroom: the extension replaced
    photo(import_root / "b-five-embedded.jpg", colour=(20, 0, 0), xmp=xmp(5))  # in the file itself
    photo(import_root / "c-two-green.jpg", colour=(30, 0, 0))
    (import_root / "c-two-green.jpg.xmp").write_bytes(xmp(2, "Green"))  # darktable: the name kept
    photo(import_root / "d-rejected.jpg", colour=(40, 0, 0))
    (import_root / "d-rejected.xmp").write_bytes(xmp(-1, "Red"))
    photo(import_root / "e-nothing.jpg", colour=(50, 0, 0))
    return import_root


def picked(gallery) -> list[str]:
    return sorted(Photo.objects.filter(gallery=gallery, featured=True).values_list("original_filename", flat=True))


def test_photos_rated_n_stars_or_more_become_picks(shoot, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    report = by_path(run_import(shoot, "--gallery", gallery.slug, "--picks-from-rating", "4"))
    assert picked(gallery) == ["a-four-red.jpg", "b-five-embedded.jpg"]
    assert [name for name, item in sorted(report.items()) if item["pick"]] == ["a-four-red.jpg", "b-five-embedded.jpg"]


def test_photos_with_a_colour_label_become_picks_whatever_its_case(shoot, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    run_import(shoot, "--gallery", gallery.slug, "--picks-from-label", "green")
    assert picked(gallery) == ["c-two-green.jpg"]


def test_ratings_and_labels_together_but_never_a_rejected_photo(shoot, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    args = ["--picks-from-rating", "5", "--picks-from-label", "Red", "--picks-from-label", "Purple"]
    report = by_path(run_import(shoot, "--gallery", gallery.slug, *args))
    # d is labelled Red but rated -1: rejected in Lightroom, so not a pick.
    assert picked(gallery) == ["a-four-red.jpg", "b-five-embedded.jpg"]
    assert report["d-rejected.jpg"]["status"] == "new" and not report["d-rejected.jpg"]["pick"]


def test_without_the_options_nothing_becomes_a_pick(shoot, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    run_import(shoot, "--gallery", gallery.slug)
    assert picked(gallery) == []


def test_picks_are_initial_a_later_run_never_picks_again(shoot, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    run_import(shoot, "--gallery", gallery.slug, "--picks-from-rating", "4")
    # The photographer changes their mind in the app; the next run leaves the choice alone.
    Photo.objects.filter(original_filename="a-four-red.jpg").update(featured=False)
    run_import(shoot, "--gallery", gallery.slug, "--picks-from-rating", "1")
    assert picked(gallery) == ["b-five-embedded.jpg"]


def test_a_photo_already_in_the_gallery_is_not_picked(shoot, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    data = (shoot / "b-five-embedded.jpg").read_bytes()
    gallery_services.photo_add(gallery=gallery, file=io.BytesIO(data), filename="uploaded.jpg")
    report = by_path(run_import(shoot, "--gallery", gallery.slug, "--picks-from-rating", "4"))
    assert report["b-five-embedded.jpg"]["status"] == "duplicate" and not report["b-five-embedded.jpg"]["pick"]
    assert picked(gallery) == ["a-four-red.jpg"]


def test_a_dry_run_says_which_would_be_picks_and_marks_none(shoot, run_import, alice, make_gallery):
    gallery = make_gallery(alice)
    report = by_path(run_import(shoot, "--gallery", gallery.slug, "--picks-from-rating", "4", "--dry-run"))
    assert report["a-four-red.jpg"]["pick"] and report["b-five-embedded.jpg"]["pick"]
    assert not report["c-two-green.jpg"]["pick"]
    assert not Photo.objects.exists()


def test_one_gallery_per_folder_picks_too(import_root, run_import, alice):
    photo(import_root / "Ceremony" / "vows.jpg", colour=(1, 1, 1))
    (import_root / "Ceremony" / "vows.xmp").write_bytes(xmp(5))
    photo(import_root / "Party" / "cake.jpg", colour=(2, 2, 2))
    run_import(import_root, "--folders-as-galleries", "--owner", "alice", "--picks-from-rating", "3")
    assert list(Photo.objects.filter(featured=True).values_list("gallery__title", "original_filename")) == [
        ("Ceremony", "vows.jpg")
    ]


def test_the_table_marks_the_picks(shoot, alice, make_gallery):
    gallery = make_gallery(alice)
    out = io.StringIO()
    call_command("import", str(shoot), "--gallery", gallery.slug, "--picks-from-rating", "4", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if "a-four-red.jpg" in line)
    assert line.split()[-3:] == ["★★★★", "Red", "pick"]
    assert "  picks            2 from ratings and labels" in out.getvalue()


@pytest.mark.parametrize("rating", ["0", "6", "four"])
def test_a_rating_outside_one_to_five_is_refused(shoot, alice, make_gallery, rating):
    gallery = make_gallery(alice)
    with pytest.raises(CommandError, match="picks-from-rating"):
        call_command("import", str(shoot), "--gallery", gallery.slug, "--picks-from-rating", rating)
    assert not Photo.objects.exists()


def test_the_service_refuses_a_bad_rating_with_a_clear_message():
    from config.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match="give a number of stars from 1 to 5"):
        Picks.from_options(rating=7)
    assert not Picks.from_options(labels=["", "  "])  # empty labels ask for nothing


def test_the_admin_form_takes_both_options_and_the_report_shows_ratings_labels_and_picks(
    shoot, alice, make_gallery, client_for, django_capture_on_commit_callbacks
):
    gallery = make_gallery(alice)
    client = client_for(alice)
    data = {"path": str(shoot), "into": "gallery", "picks_from_rating": "5", "picks_from_label": "green, Purple"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/galleries/gallery/{gallery.pk}/import/", data)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert job.options["picks_from_rating"] == 5 and job.options["picks_from_label"] == ["Purple", "green"]
    assert picked(gallery) == ["b-five-embedded.jpg", "c-two-green.jpg"]
    page = client.get(response["Location"]).content.decode()
    assert "Picks: 5 stars or more." in page and "Picks: labelled Purple, green." in page
    assert "4 stars Red</td>" in page  # the file's own rating and label, not a pick
    assert "2 stars Green <strong>Pick</strong>" in page
    assert "Rejected Red</td>" in page
    assert "2 photos became picks." in page
