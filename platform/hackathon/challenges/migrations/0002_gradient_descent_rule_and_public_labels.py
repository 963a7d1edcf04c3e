"""The gradient-descent-only rule, and the public-labels mark of classic challenges."""

from django.db import migrations, models


def mark_public_labels(apps, schema_editor) -> None:  # noqa: ANN001
    """Existing challenges built from a scikit-learn dataset, or from a seed in their bundle
    (every seed was pinned before the installation secret), have public hidden labels."""
    Challenge = apps.get_model("challenges", "Challenge")
    for challenge in Challenge.objects.all():
        source = challenge.source or {}
        if source.get("kind") == "sklearn" or source.get("kind") == "generator":
            Challenge.objects.filter(pk=challenge.pk).update(public_labels=True)


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="challenge",
            name="gradient_descent_only",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="challenge",
            name="min_loss_curve_points",
            field=models.PositiveIntegerField(default=3),
        ),
        migrations.AddField(
            model_name="challenge",
            name="public_labels",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_public_labels, migrations.RunPython.noop),
    ]
