"""The documents page: the caller's documents in full, upload and delete, no JavaScript.

The chat sidebar shows documents in brief; this page shows every fact
(size, pages, chunks, the reason a document failed) and works as plain
forms, refreshing itself while anything is still being processed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from ragsite import limits
from retrieval import documents as lifecycle
from retrieval.errors import RagError
from retrieval.models import Document

REFRESH_SECONDS = 3
PAGE_SIZE = 50


@login_required
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        wait = limits.wait_for(limits.UploadThrottle, request)
        if wait is not None:
            return limits.too_many_page(request, wait, "uploads in a short time")
        files = request.FILES.getlist("file")
        if not files:
            messages.error(request, "Choose a file to upload first.")
        for file in files:
            try:
                document = lifecycle.create_document(request.user, file, file.name, size=file.size)
            except RagError as error:
                messages.error(request, f"{file.name}: {error.message}")
            else:
                messages.success(request, f"{document.filename} is queued for processing.")
        return redirect("documents")
    listed = Document.objects.filter(owner=request.user).order_by("-created", "-pk")
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    busy = any(document.is_busy for document in page)
    return render(
        request,
        "documents.html",
        {"documents": page, "page": page, "refresh": REFRESH_SECONDS if busy else None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: str) -> HttpResponse:
    document = get_object_or_404(Document, pk=pk, owner=request.user)
    if request.method == "GET":
        return render(request, "documents_delete.html", {"document": document})
    try:
        lifecycle.delete_document(document)
    except RagError as error:
        messages.error(request, f"{document.filename} was not deleted: {error.message}")
    else:
        messages.success(request, f"{document.filename} was deleted.")
    return redirect("documents")


@login_required
def graph(request: HttpRequest, pk: object) -> HttpResponse:
    """One document's entities and the other documents that share them (drawn by the
    page's script from /api/documents/<id>/graph/, and listed for keyboards and
    screen readers)."""
    document = get_object_or_404(Document, pk=pk, owner=request.user)
    return render(request, "graph.html", {"document": document})
