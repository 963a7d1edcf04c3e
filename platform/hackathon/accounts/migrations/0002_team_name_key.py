"""Team names are unique by NFKC + casefold in every script, not by SQL lower()."""

import unicodedata

from django.db import migrations, models


def _key(name: str) -> str:
    # A copy of accounts.services.team_name_key as of this migration.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def fill_name_keys(apps, schema_editor) -> None:  # noqa: ANN001 - migration signature
    Team = apps.get_model("accounts", "Team")  # noqa: N806
    seen: set[str] = set()
    for team in Team.objects.order_by("id").only("id", "name"):
        key = _key(" ".join(team.name.split()))
        # A clash that lower() missed (ÉQUIPE and équipe) keeps the older team's key; the newer
        # one stays NULL rather than failing the upgrade, and an organizer can rename it.
        if key in seen:
            continue
        seen.add(key)
        Team.objects.filter(id=team.id).update(name_key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="team", name="team_name_unique_ci"),
        migrations.AddField(
            model_name="team",
            name="name_key",
            field=models.CharField(blank=True, editable=False, max_length=240, null=True),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="team",
            constraint=models.UniqueConstraint(fields=("name_key",), name="team_name_key_unique"),
        ),
    ]
