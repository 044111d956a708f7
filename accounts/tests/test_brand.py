"""Issue 13: a photographer's studio brand: its checks (accent contrast, logo bytes), its service
and its admin entry, which only its owner (and superusers) can reach."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts import colours, logos, services
from accounts.models import Brand
from config.exceptions import InvalidInput, NotFound, TooLarge, UnsupportedType
from conftest import make_image, png_header_only, png_with_trailing_html

pytestmark = pytest.mark.django_db

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'


def logo_png(size=(400, 120), mode="RGBA") -> bytes:
    img = Image.new(mode, size, (20, 60, 120, 0) if mode == "RGBA" else (20, 60, 120))
    img.paste((20, 60, 120, 255) if mode == "RGBA" else (200, 40, 40), (10, 10, size[0] - 10, size[1] - 10))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


# --- Colours -----------------------------------------------------------------------------------


def test_contrast_matches_the_wcag_reference_values():
    assert colours.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert colours.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert colours.contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


@pytest.mark.parametrize("given, kept", [("#7A4B1F", "#7a4b1f"), ("7a4b1f", "#7a4b1f"), ("#036", "#003366")])
def test_an_accent_that_reads_on_the_page_is_kept_in_one_spelling(given, kept):
    assert colours.check_accent(given) == kept


def test_a_pale_accent_is_refused_with_its_ratio():
    with pytest.raises(InvalidInput) as exc:
        colours.check_accent("#ffcc00")
    assert exc.value.code == "contrast"
    assert "1.3:1" in exc.value.message and "4.5:1" in exc.value.message


@pytest.mark.parametrize("bad", ["red", "#12", "#1234567", "javascript:alert(1)", "#ggg000", ""])
def test_what_is_not_a_hex_colour_is_refused(bad):
    with pytest.raises(InvalidInput) as exc:
        colours.check_accent(bad)
    assert exc.value.code == "colour"


@pytest.mark.parametrize("accent", ["#7a4b1f", "#1f5fbf", "#000000", "#8a1538", "#2e5e2e"])
def test_every_accepted_accent_gets_a_dark_tint_and_inks_that_reach_aa(accent):
    pair = colours.accent_pair(accent)
    assert pair.light == accent
    assert colours.contrast(pair.light, colours.LIGHT_BACKGROUND) >= 4.5
    assert colours.contrast(pair.light, pair.light_ink) >= 4.5
    assert colours.contrast(pair.dark, colours.DARK_BACKGROUND) >= 4.5
    assert colours.contrast(pair.dark, pair.dark_ink) >= 4.5


# --- Logos -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
def test_png_webp_and_jpeg_logos_are_redrawn_as_webp_within_the_box(fmt):
    data = make_image(fmt, size=(2400, 800))
    logo = logos.prepare_logo(io.BytesIO(data))
    with Image.open(io.BytesIO(logo.data)) as img:
        assert img.format == "WEBP"
        assert img.size == (logo.width, logo.height) == (1200, 400)


def test_a_transparent_logo_keeps_its_transparency_and_loses_its_metadata():
    img = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    buf = io.BytesIO()
    img.save(buf, "PNG", exif=exif)
    logo = logos.prepare_logo(io.BytesIO(buf.getvalue()))
    with Image.open(io.BytesIO(logo.data)) as out:
        assert out.mode == "RGBA" and out.getpixel((5, 5))[3] == 0
        assert not out.getexif()


@pytest.mark.parametrize(
    "data, error",
    [
        (SVG, UnsupportedType),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", UnsupportedType),
        (make_image("GIF", size=(50, 50), mode="P"), UnsupportedType),
        (b"GIF89a" + b"\0" * 40, UnsupportedType),
        (png_with_trailing_html(), InvalidInput),
        (png_header_only(60_000, 60_000), TooLarge),
        (b"", InvalidInput),
    ],
    ids=["svg", "svg-bare", "gif", "gif-header", "png-html", "png-bomb", "empty"],
)
def test_logos_that_are_not_safe_pictures_are_refused(data, error):
    with pytest.raises(error):
        logos.prepare_logo(io.BytesIO(data))


def test_an_svg_is_refused_by_name_in_the_message():
    with pytest.raises(UnsupportedType) as exc:
        logos.prepare_logo(io.BytesIO(SVG))
    assert "SVG" in exc.value.message and "PNG, WebP or JPEG" in exc.value.message


def test_a_logo_over_the_byte_limit_is_refused_before_it_is_read():
    with pytest.raises(TooLarge) as exc:
        logos.prepare_logo(io.BytesIO(logo_png()), max_bytes=100)
    assert "limit" in exc.value.message


# --- The service ---------------------------------------------------------------------------------


def test_a_photographer_brands_their_studio(alice, media_root: Path):
    brand = services.brand_update(
        owner=alice,
        studio_name="  Lumen Studio ",
        accent="#1F5FBF",
        contact_email="hello@lumen.example",
        website="https://lumen.example",
        logo=io.BytesIO(logo_png()),
    )
    brand.refresh_from_db()
    assert (brand.studio_name, brand.accent) == ("Lumen Studio", "#1f5fbf")
    assert brand.logo_key.startswith("brands/") and brand.logo_key.endswith(".webp")
    assert (media_root / brand.logo_key).is_file()
    assert (brand.logo_width, brand.logo_height) == (400, 120)
    # Changing it again edits the same row: one brand per photographer.
    services.brand_update(owner=alice, studio_name="Lumen")
    assert Brand.objects.get().studio_name == "Lumen" and Brand.objects.get().logo_key == brand.logo_key


def test_replacing_the_logo_deletes_the_old_file_after_commit(alice, media_root, django_capture_on_commit_callbacks):
    first = services.brand_update(owner=alice, logo=io.BytesIO(logo_png((300, 100))))
    old = media_root / first.logo_key
    with django_capture_on_commit_callbacks(execute=True):
        second = services.brand_update(owner=alice, logo=io.BytesIO(logo_png((500, 100))))
    assert second.logo_key != first.logo_key and (media_root / second.logo_key).is_file()
    assert not old.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.brand_update(owner=alice, remove_logo=True)
    assert Brand.objects.get().logo_key == "" and not (media_root / second.logo_key).exists()


def test_a_logo_two_studios_share_stays_while_one_still_shows_it(
    alice, bob, media_root, django_capture_on_commit_callbacks
):
    services.brand_update(owner=alice, logo=io.BytesIO(logo_png()))
    shared = services.brand_update(owner=bob, logo=io.BytesIO(logo_png())).logo_key
    with django_capture_on_commit_callbacks(execute=True):
        services.brand_update(owner=alice, remove_logo=True)
    assert (media_root / shared).is_file()


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"accent": "#ffee00"}, "contrast of"),
        ({"accent": "yellow"}, "hex"),
        ({"contact_email": "not an address"}, "email"),
        ({"website": "javascript:alert(1)"}, "URL"),
        ({"website": "ftp://lumen.example"}, "URL"),
        ({"studio_name": "x" * 81}, "80 characters"),
    ],
)
def test_bad_input_changes_nothing_and_says_why(alice, fields, words):
    with pytest.raises(InvalidInput) as exc:
        services.brand_update(owner=alice, **fields)
    assert words in exc.value.message
    assert not Brand.objects.exists()


def test_a_bad_logo_leaves_the_brand_and_storage_as_they_were(alice, media_root):
    services.brand_update(owner=alice, studio_name="Lumen")
    with pytest.raises(UnsupportedType):
        services.brand_update(owner=alice, studio_name="Changed", logo=io.BytesIO(SVG))
    assert Brand.objects.get().studio_name == "Lumen"
    assert not (media_root / "brands").exists()


def test_only_photographers_have_a_brand(django_user_model):
    client_user = django_user_model.objects.create_user("visitor", "v@example.com", "pw-123456789")
    with pytest.raises(NotFound):
        services.brand_update(owner=client_user, studio_name="Nope")
    assert not Brand.objects.exists()


# --- The logo's address --------------------------------------------------------------------------


def test_the_logo_is_served_by_its_content_name_while_a_brand_shows_it(
    alice, client, django_capture_on_commit_callbacks
):
    brand = services.brand_update(owner=alice, logo=io.BytesIO(logo_png()))
    response = client.get(brand.logo_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert "immutable" in response["Cache-Control"] and response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"RIFF")
    url = brand.logo_url
    with django_capture_on_commit_callbacks(execute=True):
        services.brand_update(owner=alice, remove_logo=True)
    assert client.get(url).status_code == 404
    assert client.get("/brand/../../settings.py").status_code == 404
    assert client.get("/brand/" + "0" * 64 + ".webp").status_code == 404


# --- The admin: "Studio brand" -------------------------------------------------------------------


def _form(**fields):
    return {"studio_name": "", "accent": "", "contact_email": "", "website": "", **fields}


def test_a_photographer_makes_their_brand_in_the_admin_and_is_led_back_to_it(alice, client_for, media_root):
    c = client_for(alice)
    index = c.get("/admin/").content.decode()
    assert "Studio brand" in index
    assert c.get("/admin/accounts/brand/")["Location"].endswith("/admin/accounts/brand/add/")
    logo = SimpleUploadedFile("logo.png", logo_png(), content_type="image/png")
    response = c.post(
        "/admin/accounts/brand/add/",
        _form(studio_name="Lumen Studio", accent="#1f5fbf", website="https://lumen.example", logo=logo),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    brand = Brand.objects.get()
    assert brand.owner == alice and brand.studio_name == "Lumen Studio" and brand.logo_key
    assert c.get("/admin/accounts/brand/")["Location"].endswith(f"/admin/accounts/brand/{brand.pk}/change/")
    page = c.get(f"/admin/accounts/brand/{brand.pk}/change/").content.decode()
    assert brand.logo_url in page and 'name="owner"' not in page
    assert c.get("/admin/accounts/brand/add/").status_code == 403  # one brand each


def test_the_admin_shows_the_contrast_ratio_beside_the_accent(alice, client_for):
    response = client_for(alice).post("/admin/accounts/brand/add/", _form(studio_name="Lumen", accent="#ffd700"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "contrast of 1.2:1" in errors["accent"][0]
    assert not Brand.objects.exists()


@pytest.mark.parametrize(
    "upload, words",
    [
        (SimpleUploadedFile("logo.svg", SVG, content_type="image/svg+xml"), "SVG"),
        (SimpleUploadedFile("logo.png", SVG, content_type="image/png"), "SVG"),
        (SimpleUploadedFile("logo.png", png_header_only(60_000, 60_000), content_type="image/png"), "megapixels"),
    ],
    ids=["svg", "svg-named-png", "bomb"],
)
def test_the_admin_refuses_a_bad_logo_beside_the_field(alice, client_for, upload, words, media_root):
    response = client_for(alice).post("/admin/accounts/brand/add/", _form(studio_name="Lumen", logo=upload))
    assert response.status_code == 200
    assert words in response.context["adminform"].form.errors["logo"][0]
    assert not Brand.objects.exists() and not (media_root / "brands").exists()


def test_the_admin_refuses_a_bad_email_and_website_by_field(alice, client_for):
    response = client_for(alice).post(
        "/admin/accounts/brand/add/", _form(contact_email="nope", website="javascript:alert(1)")
    )
    errors = response.context["adminform"].form.errors
    assert response.status_code == 200 and set(errors) == {"contact_email", "website"}


def test_another_photographers_brand_is_not_there(alice, bob, client_for):
    theirs = services.brand_update(owner=bob, studio_name="Bob's studio")
    c = client_for(alice)
    assert "Bob&#x27;s studio" not in c.get("/admin/").content.decode()
    assert c.get(f"/admin/accounts/brand/{theirs.pk}/change/").status_code == 404
    response = c.post(f"/admin/accounts/brand/{theirs.pk}/change/", _form(studio_name="Taken over"))
    assert response.status_code == 404
    assert c.post(f"/admin/accounts/brand/{theirs.pk}/delete/", {"post": "yes"}).status_code in (403, 404)
    assert Brand.objects.get(pk=theirs.pk).studio_name == "Bob's studio"


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url in ("/admin/accounts/brand/", "/admin/accounts/brand/add/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.post("/admin/accounts/brand/add/", _form(studio_name="Anon"))
    assert not Brand.objects.exists()


def test_a_superuser_sees_every_brand_and_makes_one_for_a_photographer(admin_user, alice, bob, client_for):
    services.brand_update(owner=bob, studio_name="Bob's studio")
    c = client_for(admin_user)
    assert "Bob&#x27;s studio" in c.get("/admin/accounts/brand/").content.decode()
    response = c.post("/admin/accounts/brand/add/", _form(owner=str(alice.pk), studio_name="For Alice"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Brand.objects.get(owner=alice).studio_name == "For Alice"
