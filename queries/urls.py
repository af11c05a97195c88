from django.urls import path

from queries import documents_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path("documents/", documents_views.documents, name="documents"),
    path("documents/<uuid:pk>/delete/", documents_views.delete, name="document-delete"),
]
