"""JWT authentication that honours logout and password changes.

A password change ends every token issued before it (simplejwt's revoke
claim, CHECK_REVOKE_TOKEN); a logout ends every token of its user issued
until then (`TokenFence`). Tokens are checked to the second they carry
(`iat`), so a token issued within the second of a logout counts as before it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.utils import timezone
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.settings import api_settings

from ragsite.models import TokenFence

LOGGED_OUT = "This token was ended by a logout: log in again to get a new one."


class RevocableJWTScheme(SimpleJWTScheme):
    """The OpenAPI schema describes this authentication as simplejwt's bearer token."""

    target_class = "ragsite.tokens.RevocableJWTAuthentication"


class RevocableJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Any) -> Any:
        user = super().get_user(validated_token)
        if fenced(user.pk, validated_token):
            raise AuthenticationFailed(LOGGED_OUT, code="logged_out")
        return user


class SignInSerializer(TokenObtainPairSerializer):
    """A token pair counts as a sign-in: Django's signal records it (last login) and
    clears the user's failed attempts (django-axes), as the sign-in page does."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = super().validate(attrs)
        user_logged_in.send(sender=type(self.user), request=self.context["request"], user=self.user)
        return data


class FencedTokenRefreshSerializer(TokenRefreshSerializer):
    """A refresh token issued before its user's last logout makes no new access token."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        refresh = self.token_class(attrs["refresh"])
        if fenced(refresh.get(api_settings.USER_ID_CLAIM), refresh):
            raise InvalidToken(LOGGED_OUT, code="logged_out")
        return super().validate(attrs)


def fenced(user_id: Any, token: Any) -> bool:
    """Whether `token` (access or refresh) was issued before its user's last logout."""
    issued = datetime.fromtimestamp(int(token["iat"]), tz=UTC)
    return TokenFence.objects.filter(user_id=user_id, not_before__gte=issued).exists()


def end_tokens(user: Any) -> None:
    """Every token `user` holds now stops working (a logout)."""
    TokenFence.objects.update_or_create(
        user=user, defaults={"not_before": timezone.now().replace(microsecond=0)}
    )


def flush_expired() -> None:
    """Drop what no token needs any more: expired blacklist rows (simplejwt's own
    flushexpiredtokens) and fences older than the longest-lived token. The worker
    runs this at start and then every hour."""
    from django.core.management import call_command

    call_command("flushexpiredtokens", verbosity=0)
    longest = max(
        settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"], settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    )
    TokenFence.objects.filter(
        not_before__lt=timezone.now() - longest - timedelta(minutes=1)
    ).delete()
