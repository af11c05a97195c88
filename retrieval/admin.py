"""Staff view of documents: upload, watch ingestion, re-ingest, delete everywhere.

The list has to fit a 1280-pixel window beside the admin's navigation and
filter columns (about 630 pixels for the table), so related facts share a
column: the file's name, size and pages; the status, progress and the reason a
document failed; its owner and when it was uploaded. Long names are shortened,
whole in their tooltip.
"""

from __future__ import annotations

import textwrap
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import format_html

from retrieval import documents, tasks, uploads
from retrieval.errors import UploadError
from retrieval.models import Document

# Longer names are shortened in the list (whole in their tooltip), so that a name
# with no space in it cannot widen the table past the window; admin_documents.css
# caps their width too, for names of wide letters.
OWNER_CHARS = 14
FILENAME_CHARS = 22
REASON_CHARS = 120  # of a failure's reason (whole in the status's tooltip)


def shorten(text: str, limit: int, *, keep_end: bool = False) -> str:
    """`text` cut to `limit` characters; with `keep_end`, cut in the middle so that
    a file name keeps its extension and version ("quarterly_o…3_signed.pdf")."""
    if len(text) <= limit:
        return text
    tail = min(12, limit // 2) if keep_end else 0
    return text[: limit - tail - 1] + "…" + text[len(text) - tail :]


class DocumentUploadForm(forms.ModelForm):
    upload = forms.FileField(
        label="File",
        help_text="PDF, Word (.docx), Markdown or plain text.",
    )

    class Meta:
        model = Document
        fields = ["owner", "title"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["title"].help_text = "Leave empty to use the file name."
        self.fields["owner"].queryset = get_user_model().objects.order_by("username")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("upload")
        owner = data.get("owner")
        if upload is None or owner is None:
            return data
        try:
            data["checked"] = uploads.check_upload(owner.pk, upload, upload.name, upload.size)
        except UploadError as error:
            raise forms.ValidationError({"upload": error.message}) from None
        return data


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title_display", "file_display", "status_display", "uploaded_display"]
    list_filter = ["status", "content_type", "created", "owner"]
    search_fields = ["title", "filename", "owner__username", "sha256"]
    list_select_related = ["owner"]
    date_hierarchy = "created"
    actions = ["reingest"]
    readonly_fields = [
        "id",
        "owner",
        "filename",
        "file",
        "size",
        "sha256",
        "content_type",
        "status",
        "chunks_done",
        "chunks_total",
        "error",
        "pages",
        "chunk_count",
        "created",
        "updated",
        "ingested",
    ]
    change_list_template = "admin/retrieval/document/change_list.html"

    class Media:
        css = {"all": ["retrieval/admin_documents.css"]}

    def get_form(self, request: HttpRequest, obj: Document | None = None, **kwargs: Any):
        if obj is None:
            kwargs["form"] = DocumentUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Document | None = None):
        if obj is None:
            return ["owner", "title", "upload"]
        return ["title", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Document | None = None):
        return self.readonly_fields if obj is not None else []

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"owner": request.user.pk}

    def save_form(self, request: HttpRequest, form: forms.ModelForm, change: bool) -> Document:
        if change:
            return super().save_form(request, form, change)
        return documents.create_document(
            form.cleaned_data["owner"],
            form.cleaned_data["upload"],
            form.cleaned_data["upload"].name,
            title=form.cleaned_data.get("title"),
            checked=form.cleaned_data["checked"],
        )

    def save_model(
        self, request: HttpRequest, obj: Document, form: forms.ModelForm, change: bool
    ) -> None:
        if change:  # only the title is editable
            Document.objects.filter(pk=obj.pk).update(title=obj.title)

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        if change:  # an upload has no related objects; create_document saved everything
            super().save_related(request, form, formsets, change)

    def delete_model(self, request: HttpRequest, obj: Document) -> None:
        documents.delete_document(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        for document in queryset:
            documents.delete_document(document)

    @admin.action(description="Re-ingest selected documents")
    def reingest(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        queued = sum(tasks.requeue(document) for document in queryset)
        self.message_user(request, f"{queued} document(s) queued for ingestion.", messages.SUCCESS)
        busy = queryset.count() - queued
        if busy:
            self.message_user(
                request,
                f"{busy} document(s) are being ingested right now and were left as they are.",
                messages.WARNING,
            )

    @admin.display(description="Title", ordering="title")
    def title_display(self, obj: Document) -> str:
        # A title given by no one is the file's name, often one long word.
        return format_html('<span class="document-title">{}</span>', obj.title)

    @admin.display(description="File", ordering="filename")
    def file_display(self, obj: Document) -> str:
        facts = filesizeformat(obj.size)
        if obj.pages:
            facts += f" · {obj.pages:,} page{'s' if obj.pages != 1 else ''}"
        return format_html(
            '<span class="document-file" title="{}">{}</span>'
            '<small class="document-detail">{}</small>',
            obj.filename,
            shorten(obj.filename, FILENAME_CHARS, keep_end=True),
            facts,
        )

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj: Document) -> str:
        if obj.status == Document.Status.FAILED:
            detail = textwrap.shorten(obj.error, REASON_CHARS, placeholder=" …")
        elif obj.status == Document.Status.READY:
            detail = f"{obj.chunk_count:,} chunks"
        elif obj.chunks_total:
            detail = f"{obj.chunks_done:,} of {obj.chunks_total:,} chunks ({obj.progress}%)"
        else:
            detail = ""
        return format_html(
            '<span class="document-status {}" title="{}">{}</span>'
            '<small class="document-detail">{}</small>',
            obj.status,
            obj.error or obj.get_status_display(),
            obj.get_status_display(),
            detail,
        )

    @admin.display(description="Uploaded", ordering="created")
    def uploaded_display(self, obj: Document) -> str:
        """Whose document it is and when it came."""
        name = obj.owner.get_username()
        created = timezone.localtime(obj.created)
        return format_html(
            '<span class="document-owner" title="{}">{}</span>'
            '<small class="document-detail" title="{}">{}</small>',
            name,
            shorten(name, OWNER_CHARS),
            created.strftime("%Y-%m-%d %H:%M"),
            created.strftime("%Y-%m-%d"),
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        busy = Document.objects.filter(status__in=Document.BUSY).exists()
        return super().changelist_view(request, {**(extra_context or {}), "auto_refresh": busy})
