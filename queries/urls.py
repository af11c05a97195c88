from django.urls import path

from queries import views

urlpatterns = [
    path("", views.home, name="home"),
]
