from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from config.exceptions import Gone, NotFound, TooManyRequests
from galleries import marks, pages, paging
from galleries.models import Layout, Photo
from galleries.privacy import FieldRule
from sharing import access, downloads, expiry, services
from sharing.forms import UnlockForm

# The password form is the one shared page that posts. Under "no-referrer" Chromium sends
# "Origin: null" with the POST and Django's CSRF check rightly refuses it, so this page uses
# "same-origin": the token still never goes to another site, and the form works.
UNLOCK_REFERRER_POLICY = "same-origin"


def shared_page(view: Callable) -> Callable:
    """Open the link per the access policy; answer 404, 410 or the password form for it."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        try:
            link = access.open_link(request, token)
            response = view(request, link, *args, **kwargs)
        except (NotFound, Http404, Gone) as exc:
            response = access.link_closed_page(request, gone=isinstance(exc, Gone))
        except access.DownloadRefused as exc:
            context = {"link": link, "message": exc.message}
            response = render(request, "sharing/download_refused.html", context, status=exc.status)
        except access.PasswordRequired as exc:
            form = UnlockForm()
            response = render(request, "sharing/unlock.html", {"link": exc.link, "form": form}, status=401)
            response["Referrer-Policy"] = UNLOCK_REFERRER_POLICY
        # The token is in the address: never let it leak to other sites through Referer.
        response.setdefault("Referrer-Policy", "no-referrer")
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper


def _download_flags(link) -> dict:
    """What the photo fragments need to offer downloads: the size a tile's button gives (the
    largest the link offers; "" when it offers none) and the button's words. Plain values, so
    they are part of the fragment's cache key."""
    sizes = access.download_sizes(link)
    if not sizes:
        return {"download_size": ""}
    return {"download_size": sizes[0], "download_label": f"Download {access.SIZE_LABELS[sizes[0]].lower()}"}


def _download_choices(link) -> list[dict]:
    """The link's download sizes for buttons outside the grid (the ZIP, the photo page)."""
    return [{"size": size, "label": access.SIZE_LABELS[size]} for size in access.download_sizes(link)]


@vary_on_headers("HX-Request", "HX-Target")
@shared_page
def share_detail(request: HttpRequest, link) -> HttpResponse:
    access.record_view(request, link)
    context = pages.gallery_context(
        request,
        link.gallery,
        base_url=link.get_absolute_url(),
        rule=FieldRule.for_link(link),
        link=link,
        favourites=True,
        **_download_flags(link),
    )
    context.update(_more_time_context(request, link))  # not in gallery_context's extra: no part of the photo cache key
    context.update(download_choices=_download_choices(link), favourites_only=False)
    return pages.gallery_response(request, context, template="sharing/share_detail.html")


@vary_on_headers("HX-Request", "HX-Target")
@shared_page
def share_favourites(request: HttpRequest, link) -> HttpResponse:
    """The shared page showing only this visitor's favourites, in the gallery's order.

    Its own address (…/favourites/) rather than a parameter: the gallery page's "load more" and
    layout links are relative (?layout=…&page=…), so every further page stays within the
    favourites. Per visitor, so never cached.
    """
    selection = services.selection_for(link=link, visitor=access.visitor_id(request))
    gallery = link.gallery
    layout = request.GET.get("layout", "")
    if layout not in Layout.values:
        layout = gallery.default_layout
    number = paging.page_number(request.GET.get("page"))
    chosen = marks.audience(gallery, shown_only=True).filter(selections=selection) if selection else None
    ids = list(chosen.order_by(*paging.PHOTO_ORDER).values_list("pk", flat=True)) if chosen is not None else []
    size = pages.PAGE_SIZE
    start = (number - 1) * size
    rows = paging.rows_for(Photo.objects.with_media(), ids[start : start + size])
    page = paging.PhotoPage(number=number, has_next=len(ids) > start + size, object_list=rows)
    rule = FieldRule.for_link(link)
    base_url = link.get_absolute_url()
    extra = {"link": link, "favourites": True, **_download_flags(link)}
    html = pages.photo_page_html(request, gallery, page, base_url=base_url, rule=rule, layout=layout, extra=extra)
    context = {
        "gallery": gallery,
        "base_url": base_url,
        "photo_page_html": mark_safe(html),  # noqa: S308 - rendered by our own template
        "can_edit": False,
        "photo_count": len(ids),
        "layout": layout,
        "layouts": Layout.choices,
        **extra,
        **_more_time_context(request, link),
        "download_choices": _download_choices(link),
        "favourites_only": True,
    }
    return pages.gallery_response(request, context, template="sharing/share_detail.html")


@shared_page
def share_photo(request: HttpRequest, link, photo_id: uuid.UUID) -> HttpResponse:
    context = pages.photo_context(
        link.gallery,
        photo_id,
        base_url=link.get_absolute_url(),
        rule=FieldRule.for_link(link),
        # "Download the original" only where the link offers full size; every size it offers is in
        # download_choices, for the photo page to show (its template belongs to galleries).
        download_original=access.ORIGINAL in access.download_sizes(link),
        download_choices=_download_choices(link),
    )
    return render(request, "galleries/photo_detail.html", context)


@require_http_methods(["POST"])
def share_unlock(request: HttpRequest, token: str) -> HttpResponse:
    """Check the password (CSRF-protected, throttled); back to the link itself, never elsewhere."""
    try:
        link = access.link_for_token(token)
    except (NotFound, Gone) as exc:
        return access.link_closed_page(request, gone=isinstance(exc, Gone))
    form = UnlockForm(request.POST)
    status, retry_after = 400, None
    if form.is_valid():
        try:
            if access.unlock(request, link, form.cleaned_data["password"]):
                response = HttpResponseRedirect(link.get_absolute_url())
                response["Referrer-Policy"] = "no-referrer"
                return response
            form.add_error("password", "That password is not right.")
        except TooManyRequests as exc:
            form.add_error(None, exc.message)
            status = 429
            retry_after = exc.retry_after
    response = render(request, "sharing/unlock.html", {"link": link, "form": form}, status=status)
    response["Referrer-Policy"] = UNLOCK_REFERRER_POLICY
    if status == 429 and retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@shared_page
def share_photo_download(request: HttpRequest, link, photo_id: uuid.UUID) -> HttpResponse:
    """One photo at ?size=web|original (none: the largest the link offers), as the link allows."""
    size = access.download_size(link, request.GET.get("size"))
    photo = pages.visible_photos(link.gallery, owner=False).filter(pk=photo_id).first()
    if photo is None:
        raise NotFound("No such photo.")
    return downloads.original_response(photo, rule=FieldRule.for_link(link), link=link, size=size)


@shared_page
def share_zip(request: HttpRequest, link) -> StreamingHttpResponse:
    """Every photo at ?size=web|original (none: the largest the link offers), as the link allows."""
    size = access.download_size(link, request.GET.get("size"))
    return downloads.zip_response(link.gallery, rule=FieldRule.for_link(link), link=link, size=size)


def _more_time_context(request: HttpRequest, link, state: str = "") -> dict:
    """The closing date line and the "Request more time" button, for a gallery that closes."""
    if not expiry.can_ask(link):
        return {"more_time": None}
    state = state or expiry.more_time_state(link=link, visitor=access.visitor_id(request))
    return {"more_time": {"expires_at": link.gallery.expires_at, "state": state}}


@require_http_methods(["GET"])
@shared_page
def share_more_time_ask(request: HttpRequest, link) -> HttpResponse:
    """Without JavaScript, the button leads here: a page whose form may post (see the POST view)."""
    if not expiry.can_ask(link):
        raise NotFound("This gallery has no closing date to move.")
    context = {"link": link, "gallery": link.gallery, **_more_time_context(request, link)}
    response = render(request, "sharing/more_time.html", context)
    response["Referrer-Policy"] = UNLOCK_REFERRER_POLICY  # a form posts from here, as on the password page
    return response


@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
@shared_page
def share_more_time(request: HttpRequest, link) -> HttpResponse:
    """Ask the owner for more time (CSRF-protected, once a day per visitor, a few a day per link).

    The shared page posts here with HTMX and swaps in the answer. Its plain form cannot: the page
    is "no-referrer", under which Chromium sends "Origin: null" with a form POST and CSRF refuses
    it; so without JavaScript the button opens share_more_time_ask, whose form posts here.
    """
    status, retry_after = 200, None
    try:
        expiry.more_time_request(link=link, visitor=access.visitor_id(request))
        state = expiry.THANKS
    except TooManyRequests as exc:
        state, status, retry_after = exc.code, 429, exc.retry_after
    context = {"link": link, "gallery": link.gallery, **_more_time_context(request, link, state)}
    template = "sharing/partials/more_time.html" if request.htmx else "sharing/more_time.html"
    response = render(request, template, context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response
