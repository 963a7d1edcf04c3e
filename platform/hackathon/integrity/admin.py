from django.contrib import admin

from hackathon.integrity.models import IntegrityFlag


@admin.register(IntegrityFlag)
class IntegrityFlagAdmin(admin.ModelAdmin):
    list_display = ("submission", "challenge", "kind", "score", "other_submission", "dismissed_at")
    list_filter = ("kind", "challenge", ("dismissed_at", admin.EmptyFieldListFilter))
    search_fields = ("detail", "submission__team__name")
    raw_id_fields = ("submission", "other_submission", "dismissed_by")
    readonly_fields = ("created_at",)
