"""What a page needs to show a photo: sources, sizes and placeholders, decided once in Python.

Templates only loop over this; no URL or size logic lives in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from galleries.imaging import b83_decode
from galleries.media import media_url, original_url
from galleries.models import Asset, AssetKind, AssetStatus, Photo
from galleries.privacy import FieldRule

# Which variants make up each layout's srcset (widths come from the variants themselves).
SRCSET_NAMES = {
    "masonry": ("small", "medium", "large"),
    "tiles": ("thumbnail", "small", "medium"),
    "slideshow": ("medium", "large"),
    "single": ("medium", "large"),
    "card": ("small", "medium"),
    "hero": ("medium", "large", "xlarge"),  # a gallery's cover, full width at the top of its page
}
# The rendered width of one image in each layout, for the browser to pick from the srcset.
SIZES = {
    "masonry": "(max-width: 599px) 50vw, (max-width: 1199px) 33vw, (max-width: 1799px) 25vw, 20vw",
    "tiles": "(max-width: 599px) 33vw, (max-width: 1199px) 20vw, 12vw",
    "slideshow": "100vw",
    "single": "(max-width: 1920px) 100vw, 1920px",
    "card": "(max-width: 599px) 100vw, (max-width: 1199px) 50vw, 33vw",
    "hero": "100vw",
}
# The lightbox's sources (WebP): xlarge only there, for high-density and large screens.
LIGHTBOX_NAMES = ("medium", "large", "xlarge")
FALLBACK = {
    "masonry": "medium",
    "tiles": "small",
    "slideshow": "large",
    "single": "large",
    "card": "medium",
    "hero": "large",
}


@dataclass
class Picture:
    photo: Photo
    width: int
    height: int
    id: str = ""  # the photo's id as text, and its alt text: what the templates print, looked up once
    alt: str = ""
    src: str = ""
    avif_srcset: str = ""
    webp_srcset: str = ""
    sizes: str = ""
    large_url: str = ""
    large_width: int = 0
    large_height: int = 0
    large_srcset: str = ""
    blurhash: str = ""
    colour: str = "#8882"
    eager: bool = False
    ready: bool = False
    is_video: bool = False
    video_url: str = ""
    caption: str = ""
    label: str = ""
    download_href: str = ""  # a tile's download button, when the door offers one (galleries.pages)
    extra: dict = field(default_factory=dict)

    @property
    def aspect_ratio(self) -> float:
        return round(self.width / self.height, 4) if self.height else 1.0


def _srcset(asset: Asset, fmt: str, names: tuple[str, ...], urls: dict[str, str], rule: FieldRule) -> str:
    parts, seen = [], set()
    for name in names:
        variant = asset.variant(name, fmt)
        if variant is not None and variant.width not in seen:
            seen.add(variant.width)
            parts.append(f"{_url(variant.key, urls, rule)} {variant.width}w")
    return ", ".join(parts)


def _url(key: str, urls: dict[str, str], rule: FieldRule) -> str:
    """Each key is signed once per photo, however many sources name it."""
    if key not in urls:
        urls[key] = media_url(key, rule=rule)
    return urls[key]


def blurhash_colour(blurhash: str) -> str:
    """The average colour a blurhash encodes (its DC term) as a CSS colour, for no-JS placeholders."""
    if len(blurhash) < 6:
        return "#8882"
    try:
        value = b83_decode(blurhash[2:6])
    except ValueError:
        return "#8882"
    return f"#{value >> 16 & 255:02x}{value >> 8 & 255:02x}{value & 255:02x}"


VISITOR = FieldRule()


def picture(photo: Photo, *, layout: str, eager: bool = False, rule: FieldRule = VISITOR) -> Picture:
    """Everything a template needs to draw one photo in one layout, as the field rule allows."""
    asset = photo.asset
    owner = rule.owner
    pic = Picture(
        photo=photo,
        id=str(photo.id),
        alt=photo.alt,
        width=asset.width or 1,
        height=asset.height or 1,
        sizes=SIZES[layout],
        blurhash=asset.blurhash,
        colour=blurhash_colour(asset.blurhash),
        eager=eager,
        ready=asset.status == AssetStatus.READY,
        is_video=asset.kind == AssetKind.VIDEO,
        caption=photo.title or photo.alt,
        label=photo.title or photo.alt or rule.original_filename(photo) or f"Photo {photo.position + 1}",
    )
    names = SRCSET_NAMES[layout]
    urls: dict[str, str] = {}
    pic.avif_srcset = _srcset(asset, "avif", names, urls, rule)
    pic.webp_srcset = _srcset(asset, "webp", names, urls, rule)
    fallback = asset.variant(FALLBACK[layout], "webp") or asset.variant("large", "webp")
    if fallback is not None:
        pic.src = _url(fallback.key, urls, rule)
    elif owner and asset.browser_can_show_original:
        pic.src = media_url(asset.original_key)  # the owner sees the original while variants are built
    large = asset.variant("large", "webp")
    if large is not None:
        # The lightbox: up to xlarge on high-density and large screens, through its srcset; its
        # size is the largest one's, so that zooming shows every pixel there is.
        largest = asset.variant("xlarge", "webp") or large
        pic.large_url, pic.large_width, pic.large_height = _url(large.key, urls, rule), largest.width, largest.height
        pic.large_srcset = _srcset(asset, "webp", LIGHTBOX_NAMES, urls, rule)
    elif pic.src:
        pic.large_url, pic.large_width, pic.large_height = pic.src, pic.width, pic.height
    if pic.is_video:
        pic.video_url = original_url(asset, rule=rule)  # what the browser plays: without location for visitors
    return pic


def pictures(photos: list[Photo], *, layout: str, eager_count: int = 0, rule: FieldRule = VISITOR) -> list[Picture]:
    return [picture(p, layout=layout, eager=i < eager_count, rule=rule) for i, p in enumerate(photos)]
