"""Pages of the chat UI: the chat itself and sign-up. Everything else goes through the API."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie


@login_required
@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "chat.html")


def signup(request: HttpRequest) -> HttpResponse:
    if not settings.REGISTRATION_OPEN:
        raise Http404("Sign-up is closed.")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})
