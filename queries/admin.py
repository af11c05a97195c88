"""Staff view of conversations and answers, with the trace of how each answer was found.

Read-only: an answer is what a user was told, so staff look but do not edit.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from queries.models import Conversation, Message


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MessageInline(ReadOnly, admin.TabularInline):
    model = Message
    fields = ["role", "status", "short_text", "created", "open"]
    readonly_fields = fields
    extra = 0
    ordering = ["created"]

    @admin.display(description="text")
    def short_text(self, message: Message) -> str:
        return Truncator(message.text).chars(160)

    @admin.display(description="")
    def open(self, message: Message) -> str:
        if not message.trace:
            return ""
        url = reverse("admin:queries_message_change", args=[message.pk])
        return format_html('<a href="{}">How it was found</a>', url)


@admin.register(Conversation)
class ConversationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["title", "owner", "created", "updated"]
    list_filter = ["created"]
    search_fields = ["title", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = ["title", "owner", "created", "updated"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["short_text", "role", "status", "owner", "created"]
    list_filter = ["role", "status"]
    search_fields = ["text", "owner__username"]
    list_select_related = ["owner"]
    fields = [
        "conversation",
        "owner",
        "role",
        "status",
        "finish_reason",
        "created",
        "text",
        "searched_for",
        "timings",
        "chosen",
        "whole_trace",
    ]
    readonly_fields = fields

    @admin.display(description="text")
    def short_text(self, message: Message) -> str:
        return Truncator(message.text).chars(80)

    @admin.display(description="searched for")
    def searched_for(self, message: Message) -> str:
        return message.trace.get("question", "")

    @admin.display(description="timings (ms)")
    def timings(self, message: Message) -> str:
        rows = [*message.trace.get("timings_ms", {}).items()] + [
            (f"{name} (since the question)", ms)
            for name, ms in message.trace.get("since_question_ms", {}).items()
        ]
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows)
        )

    @admin.display(description="passages given to the model")
    def chosen(self, message: Message) -> str:
        rows = [
            (c["n"], c["chunk_id"], ", ".join(c["found_by"]), c["similarity"], c["fused"])
            for c in message.trace.get("chosen", [])
        ]
        return format_html(
            "<table><tr><th>[n]</th><th>chunk</th><th>found by</th><th>similarity</th>"
            "<th>fused</th></tr>{}</table>",
            format_html_join("", "<tr>" + "<td>{}</td>" * 5 + "</tr>", rows),
        )

    @admin.display(description="whole trace")
    def whole_trace(self, message: Message) -> str:
        return format_html("<pre>{}</pre>", json.dumps(message.trace, indent=2))
