"""GET /healthz: is the database reachable, is the graph store reachable."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ragsite.async_api import allow
from retrieval.graphstores import aget_store

logger = logging.getLogger(__name__)

TIMEOUT = 5.0


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _graph_store_ok() -> None:
    store = await aget_store(setup=False)
    await store.ping()


@csrf_exempt  # GET only: nothing to protect, and a wrong method gets a JSON 405
@allow("GET", "HEAD")
async def healthz(request: HttpRequest) -> JsonResponse:
    report = {"status": "ok", "database": "ok", "graph_store": "ok"}
    checks = {
        "database": sync_to_async(_database_ok),
        "graph_store": _graph_store_ok,
    }
    for part, check in checks.items():
        try:
            await asyncio.wait_for(check(), TIMEOUT)
        except Exception:
            logger.exception("health check failed: %s", part)
            report[part] = "unavailable"
            report["status"] = "unavailable"
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
