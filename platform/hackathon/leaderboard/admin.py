"""Admin of chat webhooks: the URL is a secret, so it is write-only here (masked in lists,
never rendered back into a form); deliveries are read-only. Shared solutions are listed and
can be withdrawn, never added here: a team shares its own, after the end
(`sharing.solution_share`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from hackathon.leaderboard.models import ChatWebhook, SharedSolution, WebhookDelivery


class ChatWebhookForm(forms.ModelForm):
    url = forms.URLField(
        max_length=1000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the current URL.",
        assume_scheme="https",
    )

    class Meta:
        model = ChatWebhook
        fields = ("challenge", "kind", "url", "is_active")

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url") or ""
        if not url and not (self.instance and self.instance.pk):
            raise forms.ValidationError("Give the webhook's URL.")
        return url or self.instance.url


@admin.register(ChatWebhook)
class ChatWebhookAdmin(admin.ModelAdmin):
    form = ChatWebhookForm
    list_display = ("id", "challenge", "kind", "masked_url", "is_active", "created_at")
    list_filter = ("kind", "is_active", "challenge")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "webhook",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    )
    list_filter = ("status", "event")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SharedSolution)
class SharedSolutionAdmin(admin.ModelAdmin):
    list_display = ("id", "challenge", "team", "final_when_shared", "shared_by", "shared_at")
    list_filter = ("challenge",)
    readonly_fields = [f.name for f in SharedSolution._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
