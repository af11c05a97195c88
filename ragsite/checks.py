"""Deploy checks for the protective middleware, by the names this project uses.

Django's own deploy checks (security.W001-W003) look for its middleware by
their dotted paths; ragsite.middleware runs the same classes on the event loop
under other names, so those checks would warn although the protection is on.
They are silenced in the settings and checked here instead.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

PROTECTIVE = {
    "ragsite.middleware.SecurityMiddleware": "HTTPS redirect, HSTS, nosniff, referrer policy",
    "ragsite.middleware.CsrfViewMiddleware": "CSRF protection",
    "ragsite.middleware.XFrameOptionsMiddleware": "X-Frame-Options",
    "ragsite.middleware.ContentSecurityPolicyMiddleware": "Content-Security-Policy",
}


@checks.register(checks.Tags.security, deploy=True)
def check_protective_middleware(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    return [
        checks.Warning(
            f"{name} is not in MIDDLEWARE: pages are served without {what}.",
            id="ragsite.W001",
        )
        for name, what in PROTECTIVE.items()
        if name not in settings.MIDDLEWARE
    ]
