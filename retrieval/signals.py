"""Documents deleted by a cascade (a user deleted in admin) leave nothing behind.

`documents.delete_document` is the normal way and clears the graph store
before the row, so a store that is down keeps the row and says so. A cascade
deletes rows without going through it; this clears what they leave.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from retrieval.models import Document

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=Document, dispatch_uid="document-leftovers")
def clear_leftovers(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    if getattr(instance, "_graph_cleared", False):
        return
    from retrieval.documents import adelete_graph
    from retrieval.loops import run_sync

    try:
        run_sync(adelete_graph, str(instance.pk), instance.owner_id)
    except Exception:
        logger.exception("could not remove document %s from the graph store", instance.pk)
    instance.file.delete(save=False)
