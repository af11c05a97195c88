"""Accounts: API sign-in and log-out, sign-up (the API's register endpoint and the page).

Sign-in pages are Django's own auth views; tokens are simplejwt's, behind the
rate limits and the lockout of ragsite.limits.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model, login, password_validation
from django.contrib.auth.forms import UserCreationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
)

from ragsite import limits
from ragsite.tokens import end_tokens
from retrieval.errors import RagError


class RegistrationClosed(RagError, code="registration_closed", status=403):
    pass


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    email = serializers.EmailField(required=False, allow_blank=True)

    def validate_username(self, value: str) -> str:
        field = get_user_model()._meta.get_field("username")
        for validator in field.validators:
            validator(value)
        if get_user_model().objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("That username is taken.")
        return value

    def validate(self, data: dict) -> dict:
        user = get_user_model()(username=data["username"], email=data.get("email", ""))
        try:
            password_validation.validate_password(data["password"], user)
        except Exception as error:
            raise serializers.ValidationError({"password": list(error.messages)}) from None
        return data


class RegisteredSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class TokenView(TokenObtainPairView):
    """A token pair for a username and password; repeated failures lock the pair out."""

    throttle_classes = [limits.LoginThrottle]

    def post(self, request: Request, *args, **kwargs) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            # axes marks the request it refused (or has just locked out); on
            # DRF's request, where its middleware does not look.
            if getattr(request, "axes_locked_out", False):
                return limits.locked_out(request)  # type: ignore[return-value]
            raise


class RefreshView(TokenRefreshView):
    throttle_classes = [limits.RefreshThrottle]


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [limits.RegisterThrottle]

    @extend_schema(request=RegisterSerializer, responses={201: RegisteredSerializer})
    def post(self, request: Request) -> Response:
        if not settings.REGISTRATION_OPEN:
            raise RegistrationClosed("Sign-up is closed. Ask an administrator for an account.")
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = get_user_model().objects.create_user(
            data["username"], data.get("email", ""), data["password"]
        )
        return Response(
            {"id": user.pk, "username": user.get_username()}, status=status.HTTP_201_CREATED
        )


class LogoutView(TokenBlacklistView):
    """Blacklist the refresh token, and end every token its user holds (access tokens too)."""

    @extend_schema(responses={205: None})
    def post(self, request: Request, *args, **kwargs) -> Response:
        super().post(request, *args, **kwargs)  # refuses a token that is not valid
        # Valid, and now blacklisted (which a verifying read would refuse).
        refresh = RefreshToken(request.data["refresh"], verify=False)
        user = get_user_model().objects.filter(pk=refresh[api_settings.USER_ID_CLAIM]).first()
        if user is not None:
            end_tokens(user)
        return Response(status=status.HTTP_205_RESET_CONTENT)


def signup(request: HttpRequest) -> HttpResponse:
    """The sign-up page, when REGISTRATION_OPEN is on."""
    if not settings.REGISTRATION_OPEN:
        raise Http404("Sign-up is closed.")
    if request.method == "POST":
        wait = limits.wait_for(limits.RegisterThrottle, request)
        if wait is not None:
            return limits.too_many_page(request, wait, "sign-ups from your address")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


def registration(request: HttpRequest) -> dict[str, bool]:
    """Template context: whether pages offer sign-up."""
    return {"registration_open": settings.REGISTRATION_OPEN}
