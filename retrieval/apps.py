from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    name = "retrieval"
    verbose_name = "Documents"

    def ready(self) -> None:
        from retrieval import checks  # noqa: F401  (registers system checks)
