"""Staff view of documents: upload, watch ingestion, re-ingest, delete everywhere."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from retrieval import documents, tasks, uploads
from retrieval.errors import UploadError
from retrieval.models import Document


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
    list_display = [
        "title",
        "owner",
        "filename",
        "status_badge",
        "progress_display",
        "pages",
        "chunk_count",
        "size_display",
        "created",
    ]
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

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Document) -> str:
        colours = {"ready": "#1a7f37", "failed": "#cf222e", "queued": "#6e7781"}
        colour = colours.get(obj.status, "#9a6700")
        title = obj.error or obj.get_status_display()
        return format_html(
            '<strong style="color:{}" title="{}">{}</strong>',
            colour,
            title,
            obj.get_status_display(),
        )

    @admin.display(description="Progress")
    def progress_display(self, obj: Document) -> str:
        if obj.status == Document.Status.FAILED:
            return format_html('<span style="color:#cf222e">{}</span>', obj.error[:120])
        if obj.chunks_total:
            return f"{obj.chunks_done}/{obj.chunks_total} chunks ({obj.progress}%)"
        return "—"

    @admin.display(description="Size", ordering="size")
    def size_display(self, obj: Document) -> str:
        return filesizeformat(obj.size)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        busy = Document.objects.filter(status__in=Document.BUSY).exists()
        return super().changelist_view(request, {**(extra_context or {}), "auto_refresh": busy})
