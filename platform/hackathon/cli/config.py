"""Where the CLI keeps the server URL and the API token: one JSON file, readable by its owner only.

$XDG_CONFIG_HOME/hackathon/config.json (~/.config/hackathon/config.json by default).
HACKATHON_URL and HACKATHON_TOKEN override it (for CI jobs and scripts).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class CliConfig:
    url: str
    token: str


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hackathon" / "config.json"


def config_save(*, url: str, token: str) -> Path:
    """Write the URL and token with mode 0600 (the folder 0700), replacing the old file."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "token": token}, handle, indent=2)
        handle.write("\n")
    os.chmod(tmp, 0o600)  # O_CREAT's mode is masked by the umask; an old tmp may exist
    os.replace(tmp, path)
    return path


def config_load() -> CliConfig:
    """The saved (or environment) URL and token; ConfigError says how to log in if missing."""
    url = os.environ.get("HACKATHON_URL", "")
    token = os.environ.get("HACKATHON_TOKEN", "")
    path = config_path()
    if not (url and token) and path.exists():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"Cannot read {path} ({exc}). Run `hackathon login --url URL` again."
            ) from None
        url = url or str(saved.get("url", ""))
        token = token or str(saved.get("token", ""))
    if not url or not token:
        raise ConfigError("Not logged in. Run `hackathon login --url URL` first.")
    return CliConfig(url=url.rstrip("/"), token=token)


def config_delete() -> bool:
    path = config_path()
    if path.exists():
        path.unlink()
        return True
    return False
