"""The participant's whole journey from the terminal, against the platform as real processes
(uvicorn, a Celery worker grading in the sandbox, Redis): the `hackathon` console script."""

from __future__ import annotations

import gzip
import io
import json
import re
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from hackathon.challenges.precision import score_round
from hackathon.cli.client import ApiClient, ApiClientError
from hackathon.cli.remote import ProgressLine, follow_live
from hackathon.testing import LiveStack

from tests.cli.conftest import SPLIT, STARTER, Cli, regression_csv

pytestmark = pytest.mark.slow

FAILING = """\
class Model:
    def fit(self, X, y):
        raise ValueError("learning rate exploded on purpose")

    def predict(self, X):
        return X[:, 0]
"""


def ensure_team(cli: Cli, name: str) -> None:
    """Create the team unless an earlier test in this package already did."""
    if cli.run("team").returncode != 0:
        cli.ok("team", "create", name)


def submission_id(output: str) -> int:
    match = re.search(r"as #(\d+)", output)
    assert match, output
    return int(match.group(1))


def test_a_new_participant_does_everything_from_the_terminal(
    cli_factory: Callable[[str], Cli],
) -> None:
    cli = cli_factory("carol")
    out = cli.login("carol")
    assert "Logged in" in out and "as carol, no team yet" in out
    config = cli.home / "config" / "hackathon" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["token"].startswith("hk_")

    out = cli.ok("team", "create", "Carol's Descent")
    assert "Team Carol's Descent: carol" in out
    code = re.search(r"Invite code: (\S+)", out).group(1)

    friend = cli_factory("dave")
    friend.login("dave")
    assert "Team Carol's Descent: carol, dave" in friend.ok("team", "join", code)

    listing = cli.ok("challenges")
    assert "cli-regression" in listing and "rmse" in listing and "open" in listing

    out = cli.ok("download", "cli-regression", "kit")
    kit = cli.home / "kit"
    assert (kit / "solution.py").read_text() == STARTER
    assert gzip.decompress((kit / "train.csv.gz").read_bytes()).startswith(b"a,b,c,d,y\n")
    assert "solution.py" in out

    out = cli.ok("evaluate", "kit/solution.py", "--data", "kit/train.npz")
    assert "verdict:  Scored" in out
    assert re.search(r"rmse \(validation, public part, \d+ rows\): [0-9.]+", out), out
    assert re.search(r"loss curve \(300 points", out), out
    out = cli.ok("evaluate", "kit/solution.py", "--challenge", "cli-regression")
    assert "Evaluated on 63 held-out rows of cli-regression-train.npz (trained on 147" in out, out

    result = cli.run("submit", "cli-regression", "kit/solution.py", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    sub_id = submission_id(result.stdout)
    assert "verdict:  Scored" in result.stdout
    public = float(re.search(r"public score:  ([0-9.eE+-]+)", result.stdout).group(1))
    assert public > 0

    status = cli.ok("status")
    assert re.search(rf"^{sub_id}\s+cli-regression\s+finished\s+Scored", status, re.M), status
    detail = cli.ok("status", str(sub_id))
    assert "loss curve (300 points" in detail

    board = cli.ok("leaderboard", "cli-regression")
    assert re.search(r"^1\s+Carol's Descent \(you\)", board, re.M), board

    assert f"#{sub_id} is selected as final" in friend.ok("select", str(sub_id))
    assert "yes" in cli.ok("status", "--challenge", "cli-regression").splitlines()[2]
    assert "no longer a final" in cli.ok("select", str(sub_id), "--unselect")


def test_a_failing_solution_makes_submit_wait_exit_non_zero_with_the_reason(
    cli_factory: Callable[[str], Cli],
) -> None:
    cli = cli_factory("erin")
    cli.login("erin")
    ensure_team(cli, "Erin's Errors")
    (cli.home / "broken.py").write_text(FAILING)
    result = cli.run("submit", "cli-regression", "broken.py", "--wait")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verdict:  Runtime error" in result.stdout
    assert "learning rate exploded on purpose" in result.stdout


def test_a_reached_quota_says_which_and_when_the_next_slot_opens(
    cli_factory: Callable[[str], Cli],
) -> None:
    cli = cli_factory("frank")
    cli.login("frank")
    cli.ok("team", "create", "Frank's Quota")
    (cli.home / "solution.py").write_text(STARTER)
    cli.ok("submit", "cli-quota", "solution.py")
    result = cli.run("submit", "cli-quota", "solution.py")
    assert result.returncode == 1
    assert "Daily submission quota reached" in result.stderr
    assert re.search(r"The next slot opens in .+ \(at \d\d:\d\d local time\)", result.stderr)
    assert "Traceback" not in result.stderr


def test_a_bad_token_and_a_bad_password_are_refused_plainly(
    cli_factory: Callable[[str], Cli],
) -> None:
    cli = cli_factory("mallory")
    result = cli.run("login", "--url", cli.base_url, "--token", "hk_not-a-real-token")
    assert result.returncode == 1
    assert "rejected your credentials" in result.stderr
    assert not (cli.home / "config" / "hackathon" / "config.json").exists()
    result = cli.run(
        "login",
        "--url",
        cli.base_url,
        "--username",
        "carol",
        "--password-stdin",
        input_text="wrong-password\n",
    )
    assert result.returncode == 1
    assert "Wrong username or password" in result.stderr


def test_local_evaluate_computes_exactly_the_score_the_platform_computes(
    cli_factory: Callable[[str], Cli], organizer_credentials: tuple[str, str]
) -> None:
    """The bundle's data is this CSV, split with the same seed and fractions: the platform
    grades the solution on the rows `evaluate` holds out, so both scores are the same float."""
    username, password = organizer_credentials
    cli = cli_factory("organizer")
    cli.login(username, password)
    data = cli.home / "data.csv"
    data.write_bytes(regression_csv())
    (cli.home / "solution.py").write_text(STARTER)

    local = json.loads(
        cli.ok(
            "evaluate",
            "solution.py",
            "--data",
            str(data),
            "--target",
            "y",
            "--task",
            "regression",
            "--metric",
            "rmse",
            "--seed",
            str(SPLIT["seed"]),
            "--validation-fraction",
            str(SPLIT["test_fraction"]),
            "--public-fraction",
            str(SPLIT["public_fraction"]),
            "--json",
        )
    )
    assert local["verdict"] == "scored"

    result = cli.run("submit", "cli-regression", "solution.py", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    sub_id = submission_id(result.stdout)
    remote = json.loads(cli.ok("status", str(sub_id), "--json"))
    # The platform publishes scores at the challenge's display precision (5 digits); the
    # local evaluation prints the full value, which rounds to exactly the published one ...
    assert remote["public_score"] == score_round(local["public_score"], 5)
    assert remote["private_score"] == score_round(local["private_score"], 5)  # organizers
    assert remote["loss_curve"] == local["loss_curve"]
    # ... and the organizer's export has the full values: the same floats.
    config = json.loads((cli.home / "config" / "hackathon" / "config.json").read_text())
    request = urllib.request.Request(
        f"{cli.base_url}/api/v1/challenges/cli-regression/export/",
        headers={"Authorization": f"Token {config['token']}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the test server
        export = json.loads(response.read())
    row = next(r for r in export["submissions"] if r["id"] == sub_id)
    assert row["public_score"] == local["public_score"]
    assert row["private_score"] == local["private_score"]


def test_evaluate_on_a_changed_split_gives_a_different_score(
    cli_factory: Callable[[str], Cli], tmp_path: Path
) -> None:
    """The agreement above is not a coincidence of constants: the seed decides the rows."""
    cli = cli_factory("offline")
    data = cli.home / "data.csv"
    data.write_bytes(regression_csv())
    (cli.home / "solution.py").write_text(STARTER)
    scores = {
        seed: json.loads(
            cli.ok("evaluate", "solution.py", "--data", str(data), "--seed", str(seed), "--json")
        )["public_score"]
        for seed in (1, 2)
    }
    assert scores[1] != scores[2]
    assert "Traceback" not in cli.run("evaluate", "solution.py", "--data", "nope.csv").stderr


def test_submit_wait_follows_the_submission_live_over_server_sent_events(
    cli_factory: Callable[[str], Cli],
) -> None:
    cli = cli_factory("gina")
    cli.login("gina")
    cli.ok("team", "create", "Gina's Gradients")
    config = json.loads((cli.home / "config" / "hackathon" / "config.json").read_text())
    client = ApiClient(config["url"], config["token"])
    created = client.post(
        "/api/v1/challenges/cli-regression/submissions/",
        files={"file": ("solution.py", STARTER.encode())},
    )
    progress = io.StringIO()
    started = time.monotonic()
    final = follow_live(
        client, created["id"], deadline=started + 300, started=started, line=ProgressLine(progress)
    )
    assert final is not None, "the events stream was not usable: the CLI fell back to polling"
    assert final["verdict"] == "scored"
    assert f"#{created['id']} running" in progress.getvalue()


def test_the_events_stream_refuses_another_team_and_bad_tokens(
    cli_factory: Callable[[str], Cli],
) -> None:
    owner = cli_factory("erin")
    owner.login("erin")
    ensure_team(owner, "Erin's Errors")
    (owner.home / "broken.py").write_text(FAILING)
    sub_id = submission_id(owner.ok("submit", "cli-regression", "broken.py"))
    path = f"/api/v1/submissions/{sub_id}/events/"

    stranger = cli_factory("carol")
    stranger.login("carol")
    token = json.loads((stranger.home / "config" / "hackathon" / "config.json").read_text())[
        "token"
    ]
    with pytest.raises(ApiClientError) as refused:
        ApiClient(stranger.base_url, token).open_stream(path)
    assert refused.value.status == 403
    assert "another team" in refused.value.message
    with pytest.raises(ApiClientError) as bad:
        ApiClient(stranger.base_url, "hk_wrong").open_stream(path)
    assert bad.value.status == 401


def _page(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the test server
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_a_team_shares_its_final_solution_from_the_terminal_after_the_end(
    cli_factory: Callable[[str], Cli], live_site: LiveStack
) -> None:
    cli = cli_factory("hana")
    cli.login("hana")
    cli.ok("team", "create", "Hana's Share")
    (cli.home / "solution.py").write_text(STARTER)
    result = cli.run("submit", "cli-share", "solution.py", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    sub_id = submission_id(result.stdout)
    solution_url = f"{cli.base_url}/leaderboard/cli-share/debrief/solutions/{sub_id}/"

    early = cli.run("share", str(sub_id))
    assert early.returncode == 1 and "Traceback" not in early.stderr
    assert "Solutions can be shared only after the challenge has ended" in early.stderr

    live_site.manage(
        "shell",
        "-c",
        "from django.utils import timezone\n"
        "from hackathon.challenges.models import Challenge\n"
        "Challenge.objects.filter(slug='cli-share').update(end_at=timezone.now())\n",
    )
    stranger = cli_factory("carol")
    stranger.login("carol")
    refused = stranger.run("share", str(sub_id))
    assert refused.returncode == 1
    assert f"Submission #{sub_id} belongs to another team." in refused.stderr
    assert _page(solution_url)[0] == 404

    out = cli.ok("share", str(sub_id))
    assert f"Submission #{sub_id} is shared as your team's solution on the debrief" in out
    assert f"{cli.base_url}/leaderboard/cli-share/debrief/" in out
    status, debrief = _page(f"{cli.base_url}/leaderboard/cli-share/debrief/")
    assert status == 200 and f"/leaderboard/cli-share/debrief/solutions/{sub_id}/" in debrief
    status, page = _page(solution_url)  # a visitor, not logged in
    assert status == 200 and "self.loss_curve_.append(float(np.mean(error**2)))" in page

    assert "no longer shared" in cli.ok("share", str(sub_id), "--stop")
    assert _page(solution_url)[0] == 404
