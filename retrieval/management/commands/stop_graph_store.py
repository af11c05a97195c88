"""manage.py stop_graph_store: save and stop the embedded FalkorDB server.

`bin/run` calls it when the app stops, so no server is left running in the
background. Nothing to do for a backend whose server runs on its own (Neo4j).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from retrieval.graphstores import backend_class


class Command(BaseCommand):
    help = "Save and stop the embedded graph store server (FalkorDB) if it is running."
    requires_system_checks: list = []  # the checks would start the server

    def handle(self, *args: Any, **options: Any) -> None:
        if backend_class().stop_server():
            self.stdout.write("Stopped the embedded graph store.")
