from django.urls import path

from retrieval import views

urlpatterns = [
    path("documents/", views.documents, name="documents"),
    path("documents/<uuid:pk>/delete/", views.delete, name="document-delete"),
    path("documents/<uuid:pk>/graph/", views.graph, name="document-graph"),
]
