from django.conf import settings
from django.http import HttpRequest


def registration(request: HttpRequest) -> dict[str, bool]:
    return {"registration_open": settings.REGISTRATION_OPEN}
