"""What the site keeps of its own: when each user's API tokens stopped counting."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TokenFence(models.Model):
    """Access and refresh tokens a user was given before `not_before` no longer work.

    Set at logout from the API: an access token lives for minutes and cannot be
    taken back one by one (only refresh tokens are on simplejwt's blacklist), so
    logging out ends every token issued until then, on every device.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="token_fence",
    )
    not_before = models.DateTimeField()
