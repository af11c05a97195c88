"""A graph store backend is one class named in settings; mistakes in naming it are reported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from retrieval.checks import check_model_configuration
from retrieval.graphstores.falkordb import FalkorDBStore
from retrieval.search import retrieve
from tests.documents import ingest


class TaggedStore(FalkorDBStore):
    """A backend of someone's own: FalkorDB that tags every statement it runs."""

    name = "tagged"
    statements = 0

    async def run(self, query, params=None):
        TaggedStore.statements += 1
        return await super().run(query, params)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_backend_named_by_its_dotted_path_serves_ingestion_and_search(alice, settings):
    settings.GRAPH_STORE_BACKEND = f"{__name__}.TaggedStore"
    TaggedStore.statements = 0

    document = ingest(alice, "Peregrine falcons nest on tall cliffs.", "falcons.txt")
    found = retrieve(alice.pk, "Where do peregrine falcons nest?")

    assert [p.document_id for p in found] == [str(document.pk)]
    assert TaggedStore.statements > 0
    assert check_model_configuration() == []


def test_a_backend_that_cannot_be_imported_is_a_configuration_error(settings):
    settings.GRAPH_STORE_BACKEND = "retrieval.graphstores.nowhere.Store"

    assert [error.id for error in check_model_configuration()] == ["retrieval.E004"]


def test_neo4j_without_its_address_is_a_configuration_error(settings):
    settings.GRAPH_STORE_BACKEND = settings.GRAPH_STORE_BACKENDS["neo4j"]
    settings.NEO4J_URI = ""

    errors = check_model_configuration()

    assert [error.id for error in errors] == ["retrieval.E001"]
    assert "NEO4J_URI" in errors[0].msg


def test_an_unknown_graph_store_name_stops_start_up_naming_the_choices():
    env = {**os.environ, "GRAPH_STORE": "mongodb", "DJANGO_SETTINGS_MODULE": "ragsite.settings"}

    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode != 0
    assert "GRAPH_STORE must be falkordb or neo4j" in done.stderr


def test_a_falkordb_url_of_another_kind_is_a_configuration_error(settings):
    settings.FALKORDB_URL = "http://graph.example.com:6379"

    errors = check_model_configuration()

    assert [error.id for error in errors] == ["retrieval.E001"]
    assert "redis://" in errors[0].msg
    settings.FALKORDB_URL = None  # before the test graph is dropped through the settings
