"""The gallery page's tiles (galleries/tiles.py): the markup the pages, the viewer and the browser
tests rely on, every value escaped, as the template that drew them before did."""

from __future__ import annotations

import uuid
from html.parser import HTMLParser

import pytest

from galleries.models import Asset, AssetKind, AssetStatus, Photo
from galleries.presenters import Picture
from galleries.tiles import tile, tiles

HOSTILE = "\"><script>alert(1)</script>&'"


class Elements(HTMLParser):
    """Every start tag as (tag, attributes), and the text, of a piece of HTML."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def one(self, tag: str, **attrs: str) -> dict[str, str | None]:
        found = self.find(tag, **attrs)
        assert len(found) == 1, (tag, attrs, self.tags)
        return found[0]


def make_picture(**fields) -> Picture:
    photo = Photo(id=uuid.uuid4(), title=fields.pop("title", ""), alt=fields.pop("alt", ""))
    photo.asset = Asset(kind=AssetKind.IMAGE, status=AssetStatus.READY)
    values = {
        "photo": photo,
        "id": str(photo.id),
        "alt": photo.alt,
        "width": 3000,
        "height": 2000,
        "src": "/media/v/medium.webp?exp=1&sig=a",
        "avif_srcset": "/media/v/s.avif 400w, /media/v/m.avif 800w",
        "webp_srcset": "/media/v/s.webp 400w, /media/v/m.webp 800w",
        "sizes": "(max-width: 599px) 50vw, 20vw",
        "large_url": "/media/v/l.webp?exp=1&sig=b",
        "large_width": 2560,
        "large_height": 1707,
        "large_srcset": "/media/v/m.webp 800w, /media/v/l.webp 1600w",
        "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        "colour": "#a0b0c0",
        "caption": photo.title or photo.alt,
        "label": photo.title or photo.alt or "Photo 1",
    }
    values.update(fields)
    return Picture(**values)


def test_a_photo_tile_links_to_its_page_with_the_lightbox_sources():
    pic = make_picture(title="Harbour at dawn", alt="Boats in fog", eager=True)
    html = tile(pic, base_url="/g/harbour/", layout="masonry")
    doc = Elements(html)
    figure = doc.one("figure")
    assert figure["class"] == "item" and figure["data-id"] == pic.id and figure["style"] == "--ar: 1.5"
    assert "data-download" not in figure
    link = doc.one("a", class_="photo-link")
    assert link["href"] == f"/g/harbour/p/{pic.id}/"
    assert link["data-pswp-src"] == "/media/v/l.webp?exp=1&sig=b"  # &amp; in the markup, & once parsed
    assert (link["data-pswp-width"], link["data-pswp-height"]) == ("2560", "1707")
    assert link["data-pswp-srcset"] == pic.large_srcset
    assert link["data-caption"] == "Harbour at dawn" and link["aria-label"] == "Harbour at dawn"
    assert "data-video" not in link
    assert doc.one("span", class_="ph")["style"] == "--ph: #a0b0c0"
    assert doc.one("canvas")["data-blurhash"] == pic.blurhash
    sources = doc.find("source")
    assert [s["type"] for s in sources] == ["image/avif", "image/webp"]
    assert sources[0]["srcset"] == pic.avif_srcset and sources[1]["sizes"] == pic.sizes
    img = doc.one("img")
    assert img["src"] == pic.src and img["alt"] == "Boats in fog"
    assert (img["width"], img["height"], img["loading"], img["fetchpriority"]) == ("3000", "2000", "eager", "high")
    assert "&amp;sig=" in html  # the raw markup escapes the URL's ampersands, as autoescape did
    assert not doc.find("button") and not doc.find("figcaption") and not doc.find("a", class_="tile-download")


def test_every_value_a_person_wrote_is_escaped():
    pic = make_picture(title=HOSTILE, alt=HOSTILE)
    html = tile(pic, base_url="/s/tok/", layout="slideshow", favourites=True, download_label=HOSTILE)
    assert "<script>" not in html
    doc = Elements(html)
    assert doc.one("a", class_="photo-link")["aria-label"] == HOSTILE
    assert doc.one("img")["alt"] == HOSTILE
    assert doc.one("button", class_="note-button")["data-label"] == HOSTILE
    assert HOSTILE in doc.text  # the slideshow's caption, as text


def test_share_link_tiles_carry_heart_note_and_download():
    pic = make_picture(title="Rings", download_href="/s/tok/p/x/download?size=web")
    doc = Elements(tile(pic, base_url="/s/tok/", layout="tiles", favourites=True, download_label="Download web size"))
    figure = doc.one("figure")
    assert figure["data-download"] == "/s/tok/p/x/download?size=web"
    assert figure["data-download-label"] == "Download web size"
    heart = doc.one("button", class_="heart")
    assert heart["data-photo"] == pic.id and heart["aria-pressed"] == "false" and "hidden" in heart
    assert heart["aria-label"] == "Favourite: Rings"
    note = doc.one("button", class_="note-button")
    assert note["aria-haspopup"] == "dialog" and note["aria-label"] == "Note for the photographer: Rings"
    link = doc.one("a", class_="tile-download")
    assert link["href"] == pic.download_href and "download" in link
    assert link["aria-label"] == "Download web size: Rings"
    assert doc.one("img")["loading"] == "lazy"


def test_a_video_tile_plays_in_the_viewer_not_as_an_image():
    pic = make_picture(is_video=True, label="Clip", caption="")
    doc = Elements(tile(pic, base_url="/g/x/", layout="masonry"))
    assert doc.one("figure")["class"] == "item is-video"
    link = doc.one("a", class_="photo-link")
    assert "data-video" in link and "data-pswp-src" not in link
    assert link["aria-label"] == "Clip (video)"
    assert doc.one("span", class_="badge-video")["aria-hidden"] == "true"


def test_a_photo_still_processing_says_so_without_an_image():
    pic = make_picture(src="", avif_srcset="", webp_srcset="", blurhash="", large_url="", large_srcset="")
    doc = Elements(tile(pic, base_url="/g/x/", layout="tiles"))
    assert not doc.find("img") and not doc.find("picture") and not doc.find("canvas")
    assert doc.one("span", class_="pending") is not None and "Processing…" in doc.text
    assert "data-pswp-srcset" not in doc.one("a", class_="photo-link")


@pytest.mark.parametrize("layout", ["masonry", "tiles", "slideshow"])
def test_a_page_of_tiles_keeps_the_order_and_is_safe_markup(layout):
    pics = [make_picture(title=f"Photo {n}") for n in range(3)]
    html = tiles(pics, base_url="/g/x/", layout=layout)
    assert html.__html__() == html  # a SafeString: the template prints it as it is
    assert [a["data-id"] for a in Elements(html).find("figure")] == [p.id for p in pics]
    assert bool(Elements(html).find("figcaption")) is (layout == "slideshow")
