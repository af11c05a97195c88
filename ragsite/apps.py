from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def _cache_table(using: str = "default", **kwargs) -> None:
    """Every `migrate` makes sure the shared cache's table exists (rate-limit counts)."""
    call_command("createcachetable", database=using, verbosity=0)


class RagsiteConfig(AppConfig):
    name = "ragsite"
    verbose_name = "Site"

    def ready(self) -> None:
        from ragsite import checks  # noqa: F401  (registers the deploy checks)

        post_migrate.connect(_cache_table, sender=self, dispatch_uid="ragsite-cache-table")
