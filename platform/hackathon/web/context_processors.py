from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    user = request.user
    is_organizer = bool(
        user.is_authenticated
        and (user.is_staff or user.groups.filter(name=settings.ORGANIZERS_GROUP).exists())
    )
    return {"SITE_NAME": settings.SITE_NAME, "is_organizer": is_organizer}
