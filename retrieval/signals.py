"""Documents deleted by a cascade (a user deleted in admin) leave nothing behind.

`documents.delete_document` is the normal way. A cascade deletes rows without
going through it, inside the deleting transaction; this hands what they leave
(file, chunks) to after the commit, the chunks to the worker.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from retrieval.models import Document


@receiver(post_delete, sender=Document, dispatch_uid="document-leftovers")
def clear_leftovers(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    if getattr(instance, "_graph_cleared", False):
        return
    from retrieval.documents import clear_after_commit

    # A cascade runs inside the deleting transaction: the store is not called
    # while it holds the database; the worker clears the chunks after the commit.
    clear_after_commit(instance)
