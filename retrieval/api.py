"""Documents over the REST API: each user sees and changes only their own."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from ragsite.limits import UploadThrottle
from retrieval import documents, entity_graph, uploads
from retrieval.graphstores import aget_store
from retrieval.loops import run_sync
from retrieval.models import Document


class DocumentSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True, help_text="percent of chunks written")
    chunks = serializers.IntegerField(source="chunk_count", read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "filename",
            "content_type",
            "size",
            "status",
            "progress",
            "error",
            "pages",
            "chunks",
            "summary",
            "attached_to",
            "created",
            "updated",
        ]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="PDF, DOCX, XLSX, PPTX, EML, HTML, JPEG, PNG, WebP, TIFF, Markdown, CSV or "
        "plain text"
    )
    title = serializers.CharField(required=False, allow_blank=True, max_length=255)


class PassageSerializer(serializers.Serializer):
    chunk_id = serializers.CharField()
    document_id = serializers.UUIDField()
    title = serializers.CharField()
    filename = serializers.CharField()
    index = serializers.IntegerField(help_text="its place in the document, from 0")
    page = serializers.IntegerField(allow_null=True)
    page_label = serializers.CharField(
        allow_null=True,
        help_text='the printed page label ("iii", "A-1") when the PDF gives one other than '
        "the page number; null otherwise",
    )
    ocr = serializers.BooleanField(help_text="read from a scan or photo by OCR")
    text = serializers.CharField(help_text="the whole passage (a citation holds 200 characters)")


async def _passage(owner_id: int, document_id: str, chunk_id: str):
    store = await aget_store()
    return await store.passage(owner_id, document_id, chunk_id)


class DocumentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DocumentSerializer
    parser_classes = [MultiPartParser]  # a file needs a multipart body

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Document.objects.none()
        return Document.objects.filter(owner=self.request.user).order_by("-created")

    def get_serializer_class(self):
        return UploadSerializer if self.action == "create" else DocumentSerializer

    def get_throttles(self):
        return [UploadThrottle()] if self.action == "create" else []

    @extend_schema(request=UploadSerializer, responses={201: DocumentSerializer})
    def create(self, request: Request) -> Response:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared:  # refuse an oversized body before reading it
            uploads.check_size(declared, allowance=uploads.MULTIPART_ALLOWANCE)
        upload = UploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        document = documents.create_document(
            request.user,
            file,
            file.name,
            title=upload.validated_data.get("title"),
            size=file.size,
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=PassageSerializer)
    @action(detail=True, methods=["get"], url_path=r"passages/(?P<chunk_id>[^/]+)")
    def passage(self, request: Request, pk: str, chunk_id: str) -> Response:
        """One passage of the document in full, as a citation's chunk_id names it."""
        document = self.get_object()
        hit = run_sync(_passage, request.user.pk, str(document.pk), chunk_id)
        if hit is None:
            raise NotFound("This passage is no longer in the document (it may have been re-read).")
        return Response(PassageSerializer(hit).data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def graph(self, request: Request, pk: str) -> Response:
        """The document's entities and the caller's other documents that share them."""
        return Response(run_sync(entity_graph.adocument_graph, self.get_object()))

    @extend_schema(
        parameters=[OpenApiParameter("entity", str, required=True)],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"], url_path="graph/passages")
    def entity_passages(self, request: Request, pk: str) -> Response:
        """The caller's passages that mention one entity (?entity=<key> from the graph)."""
        self.get_object()
        key = request.query_params.get("entity", "")
        if not key:
            raise ValidationError({"entity": "Give the entity's key, as the graph lists it."})
        return Response(run_sync(entity_graph.aentity_passages, request.user.pk, key))

    def perform_destroy(self, instance: Document) -> None:
        documents.delete_document(instance)
