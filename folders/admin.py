"""The gallery's folder doors in the admin: import from a server folder (a background job whose page
shows its progress live) and export as a ZIP with its manifest.

folders attaches itself to the gallery admin (galleries knows nothing of folders), as sharing and
uploads do: two buttons on the gallery page (change_tools), a panel of its recent imports
(change_panels), the pages under <gallery>/import/… and <gallery>/export/ (gallery_pages) and the
"Export" action on the galleries list.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.vary import vary_on_headers

import galleries.admin  # noqa: F401 - registers the gallery admin this module attaches to
from config.exceptions import ServiceError
from folders import services
from folders.forms import LABELS, ExportForm, ImportForm, suggested_folders
from folders.models import ImportJob
from galleries.admin import admin_size
from galleries.media import release_db_connection
from galleries.models import Gallery
from sharing.downloads import safe_name

REPORT_ROWS = 1000  # the page lists this many files that were not simply unchanged; the JSON has them all
STATUS_LABELS = {
    services.NEW: "New",
    services.CHANGED: "Changed",
    services.DUPLICATE: "Duplicate",
    services.UNCHANGED: "Unchanged",
    services.MISSING: "Missing",
    services.REMOVED: "Removed",
    services.REFUSED: "Refused",
    services.WAITING: "Waiting",
}


def _gallery(request: HttpRequest, object_id: Any) -> Gallery:
    """The user's gallery (superusers: anyone's), else 404: never reveal another owner's gallery."""
    return get_object_or_404(Gallery.objects.editable_by(request.user), pk=object_id)


def _job(request: HttpRequest, object_id: Any, job_id: Any) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.visible_to(request.user).select_related("gallery", "owner"), pk=job_id, gallery_id=object_id
    )


def _context(request: HttpRequest, gallery: Gallery, title: str, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), "opts": Gallery._meta, "original": gallery, "title": title, **extra}


# --- Import ----------------------------------------------------------------------------------------


def import_view(request: HttpRequest, object_id: Any) -> HttpResponse:
    """The form: a folder under IMPORT_ROOTS and the options; submitting queues the job and opens its page."""
    gallery = _gallery(request, object_id)
    form = ImportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        running = form.is_valid() and services.import_job_unfinished(gallery=gallery, path=form.cleaned_data["path"])
        if running:  # a second click on "Start": the page of the import already under way
            messages.info(request, "This folder is being imported into this gallery already: here is how far it is.")
            return HttpResponseRedirect(reverse("admin:galleries_gallery_import_job", args=[gallery.pk, running.pk]))
        if form.is_valid():
            try:
                job = services.import_job_start(
                    user=request.user, gallery=gallery, path=form.cleaned_data["path"], options=form.options()
                )
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                return HttpResponseRedirect(reverse("admin:galleries_gallery_import_job", args=[gallery.pk, job.pk]))
        status = 400
    context = _context(
        request,
        gallery,
        f"Import from a server folder into “{gallery.title}”",
        form=form,
        roots=settings.IMPORT_ROOTS,
        suggestions=suggested_folders() if settings.IMPORT_ROOTS else [],
        labels=LABELS,
        jobs=ImportJob.objects.filter(gallery=gallery)[:10],
    )
    return TemplateResponse(request, "admin/folders/import.html", context, status=status)


def _report_rows(report: dict[str, Any] | None) -> tuple[list[dict[str, Any]], int]:
    """The files worth a line (all but the unchanged), at most REPORT_ROWS, and how many more there are."""
    files = [f for f in (report or {}).get("files", []) if f.get("status") != services.UNCHANGED]
    order = {status: n for n, status in enumerate(services.STATUSES)}
    files.sort(key=lambda f: (order.get(f.get("status"), 99), f.get("path", "")))
    rows = [{**f, "what": STATUS_LABELS.get(f.get("status"), f.get("status")), "size_text": admin_size(f.get("size") or 0)}
            for f in files[:REPORT_ROWS]]  # fmt: skip
    return rows, max(0, len(files) - REPORT_ROWS)


@vary_on_headers("HX-Request")
def import_job_view(request: HttpRequest, object_id: Any, job_id: Any) -> HttpResponse:
    """One import: its progress while it runs (the page polls the #job fragment), then its report."""
    job = _job(request, object_id, job_id)
    rows, more = _report_rows(job.report)
    report = job.report or {}
    counts = report.get("counts") or {}
    context = _context(
        request,
        job.gallery,
        f"Import of {job.path}",
        job=job,
        rows=rows,
        more=more,
        counts=[(STATUS_LABELS[s], counts.get(s, 0), s) for s in services.STATUSES if s != services.WAITING],
        made=report.get("galleries") or [],
        picks=sum(1 for f in report.get("files") or [] if f.get("pick")),
        notes=report.get("notes") or [],
        bytes_done=admin_size(job.bytes_done),
        bytes_total=admin_size(job.bytes_total),
        bytes_added=admin_size(report.get("bytes_added") or 0),
        stale_after=int(services.IMPORT_JOB_STALE.total_seconds()),
    )
    template = "admin/folders/import_job.html#job" if request.htmx else "admin/folders/import_job.html"
    return TemplateResponse(request, template, context)


def import_job_report_view(request: HttpRequest, object_id: Any, job_id: Any) -> HttpResponse:
    """The whole report as JSON, as `manage.py import --json` prints it."""
    job = _job(request, object_id, job_id)
    if job.report is None:
        return JsonResponse({"detail": "This import has no report yet."}, status=404)
    response = JsonResponse(job.report, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = content_disposition_header(True, f"import-{job.pk}.json")
    return response


def import_job_rerun_view(request: HttpRequest, object_id: Any, job_id: Any) -> HttpResponse:
    """POST: run a finished or stale import again, as a new job (the import carries on where it stopped)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    job = _job(request, object_id, job_id)
    try:
        again = services.import_job_rerun(user=request.user, job=job)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("admin:galleries_gallery_import_job", args=[job.gallery_id, job.pk]))
    messages.success(request, "The import runs again; files already imported are not read twice.")
    return HttpResponseRedirect(reverse("admin:galleries_gallery_import_job", args=[again.gallery_id, again.pk]))


def imports_panel(request: HttpRequest, gallery: Gallery) -> str:
    """The gallery page's recent imports from server folders, each linked to its page."""
    jobs = list(ImportJob.objects.filter(gallery=gallery).select_related("owner")[:5])
    if not jobs:
        return ""
    return render_to_string("admin/folders/imports_panel.html", {"jobs": jobs, "gallery": gallery}, request=request)


# --- Export ----------------------------------------------------------------------------------------


def export_view(request: HttpRequest, object_id: Any) -> HttpResponse:
    """GET: choose originals or a variant; POST: the ZIP (files named in gallery order, manifest.json and .csv)."""
    gallery = _gallery(request, object_id)
    form = ExportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            variant = form.cleaned_data["variant"] or None
            try:
                archive, _plan = services.gallery_export_zip(gallery=gallery, variant=variant)
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                response = StreamingHttpResponse(archive, content_type="application/zip")
                stem = safe_name(gallery.title, fallback="gallery")
                suffix = f" ({variant})" if variant else ""
                response["Content-Disposition"] = content_disposition_header(True, f"{stem}{suffix} export.zip")
                response["X-Content-Type-Options"] = "nosniff"
                release_db_connection()  # the archive only reads storage from here on
                return response
        status = 400
    photos = gallery.photos.filter(is_approved=True).count()
    context = _context(request, gallery, f"Export “{gallery.title}”", form=form, photos=photos)
    return TemplateResponse(request, "admin/folders/export.html", context, status=status)


@admin.action(description="Export the selected gallery (ZIP with manifest)…")
def export_gallery(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
    """The galleries list's action: one gallery's export page, where originals or a variant are chosen."""
    if queryset.count() != 1:
        modeladmin.message_user(request, "Choose one gallery to export.", messages.WARNING)
        return None
    return HttpResponseRedirect(reverse("admin:galleries_gallery_export", args=[queryset.get().pk]))


def _tools(request: HttpRequest, gallery: Gallery) -> list[tuple[str, str]]:
    return [
        ("Import from a server folder", reverse("admin:galleries_gallery_import", args=[gallery.pk])),
        ("Export", reverse("admin:galleries_gallery_export", args=[gallery.pk])),
    ]


def _register_on_gallery_admin() -> None:
    """Put import and export on the gallery's admin pages (galleries knows nothing of folders)."""
    gallery_admin = admin.site._registry[Gallery]
    if export_gallery in gallery_admin.actions:
        return
    gallery_admin.actions = [*gallery_admin.actions, export_gallery]
    gallery_admin.change_tools = [*gallery_admin.change_tools, _tools]
    gallery_admin.change_panels = [*gallery_admin.change_panels, imports_panel]
    gallery_admin.gallery_pages = {
        **gallery_admin.gallery_pages,
        "import/": (import_view, "galleries_gallery_import"),
        "import/<uuid:job_id>/": (import_job_view, "galleries_gallery_import_job"),
        "import/<uuid:job_id>/report.json": (import_job_report_view, "galleries_gallery_import_report"),
        "import/<uuid:job_id>/again/": (import_job_rerun_view, "galleries_gallery_import_rerun"),
        "export/": (export_view, "galleries_gallery_export"),
    }


_register_on_gallery_admin()
