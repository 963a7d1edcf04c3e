"""A shared solution is the team's consent to share its final one: what the debrief shows is
the team's final submission when it is shown; the submission that was the final when the
team shared is kept as a record (and survives that submission's deletion)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leaderboard", "0005_shared_solutions"),
        ("submissions", "0008_telemetry_and_hyperparameters"),
    ]

    operations = [
        migrations.RenameField(
            model_name="sharedsolution",
            old_name="submission",
            new_name="final_when_shared",
        ),
        migrations.AlterField(
            model_name="sharedsolution",
            name="final_when_shared",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="submissions.submission",
            ),
        ),
    ]
