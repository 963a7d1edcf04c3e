"""The site of the browser journeys: `hackathon up` as real processes
(`hackathon.testing.UpSite`), with an organizer account the journeys log in as. Nothing of it
runs in the pytest process, so the browser (Playwright's event loop) and Django's ORM never
share a thread."""

from __future__ import annotations

from pathlib import Path

from hackathon.testing import ROOT, UpSite

__all__ = ["ORGANIZER_PASSWORD", "ORGANIZER_USERNAME", "ROOT", "up_site"]

ORGANIZER_USERNAME = "organizer"
ORGANIZER_PASSWORD = "browser-organizer-" + "pass-7Qx"


def up_site(workdir: Path, *, database_url: str | None, challenges_dir: Path) -> UpSite:
    """The site, not started yet: `start()` returns once it serves pages and grades."""
    return UpSite(
        workdir=workdir,
        database_url=database_url,
        challenges_dir=challenges_dir,
        admin=(ORGANIZER_USERNAME, ORGANIZER_PASSWORD),
    )
