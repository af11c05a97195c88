"""Questions (JSON), conversations and their messages over the REST API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from queries.answering import Question, aanswer
from queries.models import Conversation, Message
from retrieval.loops import run_sync
from retrieval.models import Document


class QueryText(serializers.CharField):
    """A JSON string of 1..4000 characters as sent (DRF would take 5 for "5")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length, length=len(data))
        return super().to_internal_value(data)


class JSONInteger(serializers.IntegerField):
    """A JSON number without a fraction; DRF would also take "5" and 5.0."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class QuerySerializer(serializers.Serializer):
    query = QueryText(max_length=4000, help_text="the question, 1 to 4000 characters")
    max_results = JSONInteger(min_value=1, max_value=20, default=5)
    conversation_id = serializers.UUIDField(required=False, allow_null=True, default=None)
    document_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        allow_null=True,
        default=None,
        max_length=500,
        help_text="search only these of your documents",
    )
    compare = serializers.BooleanField(
        default=False,
        help_text="compare the documents of document_ids: each is searched on its own and "
        "the answer cites each of them",
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("compare") and len(data.get("document_ids") or []) < 2:
            raise serializers.ValidationError(
                {"compare": "Choose at least two documents (document_ids) to compare."}
            )
        return data

    def validate_document_ids(self, value: list | None) -> list | None:
        if value is None:
            return None
        owner = self.context["owner_id"]
        found = set(
            Document.objects.filter(owner_id=owner, pk__in=value).values_list("pk", flat=True)
        )
        missing = [str(v) for v in value if v not in found]
        if missing:
            raise serializers.ValidationError(f"No such documents: {', '.join(missing)}.")
        return value

    def question(self) -> Question:
        data = self.validated_data
        return Question(
            owner_id=self.context["owner_id"],
            query=data["query"],
            max_results=data["max_results"],
            conversation_id=data["conversation_id"],
            document_ids=data["document_ids"],
            compare=data["compare"],
        )


class CitationSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    document_id = serializers.UUIDField()
    filename = serializers.CharField()
    chunk_id = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    page_label = serializers.CharField(
        allow_null=True,
        required=False,
        help_text='The printed page label ("iii", "A-1") when the PDF gives one other than '
        "the page number, which `page` stays; null otherwise.",
    )
    chunk_text = serializers.CharField()
    relevance_score = serializers.FloatField()
    ocr = serializers.BooleanField(
        required=False, help_text="The passage was read from a scan or photo by OCR."
    )


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField()
    citations = CitationSerializer(many=True)
    conversation_id = serializers.UUIDField()
    message_id = serializers.UUIDField()


class QueryView(APIView):
    """Ask a question; the whole answer comes back as one JSON object."""

    @extend_schema(request=QuerySerializer, responses=AnswerSerializer)
    def post(self, request: Request) -> Response:
        serializer = QuerySerializer(data=request.data, context={"owner_id": request.user.pk})
        serializer.is_valid(raise_exception=True)
        return Response(run_sync(aanswer, serializer.question()))


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "role", "text", "status", "citations", "finish_reason", "created"]


class ConversationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Conversation
        fields = ["id", "title", "created", "updated"]
        read_only_fields = ["id", "created", "updated"]


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]


class TraceSerializer(serializers.Serializer):
    message_id = serializers.UUIDField()
    question = serializers.CharField(help_text="what was searched: the question or its rewrite")
    timings_ms = serializers.DictField(
        child=serializers.FloatField(), help_text="how long each step took"
    )
    since_question_ms = serializers.DictField(
        child=serializers.FloatField(), help_text="when the passages, the first token, the end came"
    )
    searches = serializers.ListField(
        child=serializers.DictField(), help_text="each search: mode, weight, ms, hits with scores"
    )
    expansion = serializers.ListField(
        child=serializers.DictField(), help_text="passages the graph expansion added, and from"
    )
    chosen = serializers.ListField(
        child=serializers.DictField(), help_text="the passages given to the model, as cited [n]"
    )


class ConversationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    # Renaming is the one change a conversation takes: PATCH {"title"}, no PUT.
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Conversation.objects.none()
        owned = Conversation.objects.filter(owner=self.request.user)
        if self.action == "retrieve":
            return owned.prefetch_related("messages")
        # DESIGN.md: "newest first", i.e. by when the conversation began; a follow-up
        # does not move an older conversation up (``updated`` says when it was last used).
        return owned.order_by("-created")

    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return ConversationDetailSerializer
        return ConversationSerializer

    @extend_schema(responses=TraceSerializer)
    @action(detail=True, methods=["get"], url_path=r"messages/(?P<message_id>[0-9a-f-]{36})/trace")
    def trace(self, request: Request, pk: str, message_id: str) -> Response:
        """How an answer was found: what each search returned, with scores and timings."""
        conversation = self.get_object()
        reply = conversation.messages.filter(pk=message_id).exclude(trace={}).first()
        if reply is None:
            raise NotFound("No trace is kept for this message.")
        return Response({"message_id": str(reply.pk), **reply.trace})
