from django.apps import AppConfig
from django.db.models.signals import post_migrate

# Apps whose models organizers manage in the admin (every permission), and the user
# accounts they may look up and deactivate.
ORGANIZER_APPS = ("accounts", "challenges", "submissions", "leaderboard")
ORGANIZER_USER_PERMISSIONS = ("view_user", "change_user")


def ensure_organizers_group(**kwargs: object) -> None:
    """Create the organizers group with its admin permissions (after every migrate)."""
    from django.conf import settings
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    group, _ = Group.objects.get_or_create(name=settings.ORGANIZERS_GROUP)
    wanted = Permission.objects.filter(
        Q(content_type__app_label__in=ORGANIZER_APPS)
        | Q(content_type__app_label="auth", codename__in=ORGANIZER_USER_PERMISSIONS)
    )
    group.permissions.add(*wanted)


class AccountsConfig(AppConfig):
    name = "hackathon.accounts"
    label = "accounts"

    def ready(self) -> None:
        # The last app migrated creates the permissions of all; run after each app.
        post_migrate.connect(ensure_organizers_group, dispatch_uid="accounts.organizers_group")
