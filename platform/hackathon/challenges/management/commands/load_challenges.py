"""`manage.py load_challenges [PATH]`: load every bundle under PATH (default: the
project's challenges/ folder, or CHALLENGES_DIR), idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hackathon.challenges.bundle import find_bundles, read_bundle_dir
from hackathon.challenges.downloads import download_file
from hackathon.challenges.errors import ChallengeDataError
from hackathon.organizing.services import challenge_load_bundle, challenge_queue_baseline


class Command(BaseCommand):
    help = "Load challenge bundles (challenge.toml, description.md, starter/, baseline/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="a bundle folder or a folder of bundles")
        parser.add_argument(
            "--allow-resplit",
            action="store_true",
            help="let a changed bundle change the hidden split of a challenge that has scored "
            "submissions, and rejudge them",
        )
        parser.add_argument("--force", action="store_true", help="rebuild even unchanged bundles")
        parser.add_argument(
            "--no-baselines",
            action="store_true",
            help="do not submit new or changed baseline solutions for grading",
        )
        parser.add_argument(
            "--skip-downloads",
            action="store_true",
            help="do not prepare the training CSV and starter kit now (built on first request)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(options["path"] or settings.CHALLENGES_DIR)
        if not root.is_dir():
            raise CommandError(f"{root}: not a folder")
        bundles = find_bundles(root)
        if not bundles:
            raise CommandError(f"{root}: no challenge.toml in it or in its sub-folders")
        failures = []
        for bundle in bundles:
            try:
                outcome = challenge_load_bundle(
                    files=read_bundle_dir(bundle),
                    origin=str(bundle),
                    allow_resplit=options["allow_resplit"],
                    force=options["force"],
                    keep_browser_edits=not options["force"],
                )
            except ChallengeDataError as exc:
                failures.append(str(exc))
                self.stderr.write(f"error: {exc}")
                continue
            slug = outcome.challenge.slug
            if outcome.unchanged:
                status = f"unchanged ({outcome.note})" if outcome.note else "unchanged"
            elif outcome.created:
                status = f"created ({outcome.challenge.n_train} training rows, {outcome.challenge.n_test} hidden)"
            elif outcome.resplit:
                status = "resplit" + (", submissions rejudged" if outcome.rejudged else "")
            else:
                status = "updated" if outcome.changed else "unchanged"
            self.stdout.write(f"{slug}: {status}")
            if not options["no_baselines"]:  # idempotent: once per version of the code
                queued = challenge_queue_baseline(challenge=outcome.challenge)
                if queued.submission is not None:
                    self.stdout.write(f"  baseline queued for grading (#{queued.submission.pk})")
                elif queued.reason != "this baseline was already submitted":
                    self.stdout.write(f"  baseline not submitted: {queued.reason}")
            if not options["skip_downloads"]:
                # Large training files take many seconds to write: better here than in a
                # request. (The plain train.csv is built on its first request.)
                for kind in ("train.npz", "train.csv.gz", "starter-kit.zip"):
                    download_file(outcome.challenge, kind)
        if failures:
            raise CommandError(f"{len(failures)} bundle(s) not loaded")
