"""The Django admin, opened to organizers (staff or the "organizers" group)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from hackathon.accounts.models import ApiToken, Membership, Team
from hackathon.accounts.selectors import is_organizer
from hackathon.accounts.services import team_name_key


def _organizer_may_use_admin(request: HttpRequest) -> bool:
    return is_organizer(request.user)


# Organizers in the group need no staff flag; what they may change inside the admin is
# still decided by the group's permissions (granted in apps.AccountsConfig).
admin.site.has_permission = _organizer_may_use_admin
admin.site.site_header = "Hackathon administration"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["joined_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "created_by", "created_at"]
    search_fields = ["name", "memberships__user__username"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(n_members=Count("memberships"))

    def save_model(self, request: HttpRequest, obj: Team, form: Any, change: bool) -> None:
        obj.name_key = team_name_key(obj.name)  # a rename keeps the uniqueness key in step
        super().save_model(request, obj, form, change)

    @admin.display(description="Members", ordering="n_members")
    def member_count(self, obj: Team) -> int:
        return obj.n_members


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "joined_at"]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "name", "prefix", "key_hash", "created_at", "last_used_at"]
    list_filter = ["revoked_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Tokens are created by their owner on the profile page (the key is shown once).
        return False
