"""Conversations and their messages, with the citations each answer was given."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.title


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Status(models.TextChoices):
        COMPLETE = "complete", "Complete"
        INTERRUPTED = "interrupted", "Interrupted"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # The conversation's owner, kept on each message so that an account's recent
    # questions and running answers are read from an index (queries/limits.py).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    citations = models.JSONField(default=list, blank=True)
    # How the answer was found (retrieval.trace): searches, scores, timings.
    trace = models.JSONField(default=dict, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set while an answer is being written (queries/limits.py counts them); null after.
    answering_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created"]
        indexes = [
            models.Index(fields=["owner", "role", "created"], name="message_asked"),
            models.Index(
                fields=["owner", "answering_until"],
                name="message_answering",
                condition=models.Q(answering_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:60]}"
