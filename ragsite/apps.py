from django.apps import AppConfig


class RagsiteConfig(AppConfig):
    name = "ragsite"
    verbose_name = "Site"

    def ready(self) -> None:
        from ragsite import checks  # noqa: F401  (registers the deploy checks)
