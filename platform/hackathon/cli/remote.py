"""Participant commands that talk to a server: login, team, challenges, download, submit, status,
leaderboard, select."""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from hackathon.cli import render
from hackathon.cli.client import ApiClient, ApiClientError, iter_sse
from hackathon.cli.config import ConfigError, config_delete, config_load, config_save
from hackathon.safe_zip import ZipRefused, read_zip

API = "/api/v1"


class CliError(Exception):
    """A failure to report in one line, exit status 1."""


def check_readable_file(path: Path) -> None:
    """Refuse anything but an existing, non-empty regular file, saying which it is instead."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CliError(f"File not found: {path}") from None
    except OSError as exc:
        raise CliError(f"Cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise CliError(f"{path} is a directory, not a file.")
    if not stat.S_ISREG(mode):
        raise CliError(f"{path} is not a regular file (a device, pipe or socket).")
    if path.stat().st_size == 0:
        raise CliError(f"{path} is empty.")


def reports_errors(
    func: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (ApiClientError, ConfigError, CliError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130

    return wrapper


def client_from_config() -> ApiClient:
    config = config_load()
    return ApiClient(config.url, config.token)


# --- login / logout -------------------------------------------------------------------


@reports_errors
def cmd_login(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise CliError(f"The URL must start with http:// or https:// (got {args.url!r}).")
    token = args.token
    if token is None and args.username is None:
        token = getpass.getpass("API token (leave empty to log in with username and password): ")
        token = token.strip()
    if not token:
        username = args.username or input("Username: ").strip()
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
        anonymous = ApiClient(url)
        created = anonymous.post(
            f"{API}/auth/token/",
            json_body={"username": username, "password": password, "name": args.token_name},
        )
        token = created["key"]
    me = ApiClient(url, token).get(f"{API}/me/")
    path = config_save(url=url, token=token)
    team = me.get("team") or {}
    where = f"team {team['name']}" if team else "no team yet (`hackathon team create NAME`)"
    print(f"Logged in to {url} as {me['username']}, {where}. Saved to {path}.")
    return 0


@reports_errors
def cmd_logout(args: argparse.Namespace) -> int:
    print("Logged out." if config_delete() else "Not logged in.")
    return 0


# --- team -----------------------------------------------------------------------------


def _print_team(team: dict[str, Any]) -> None:
    print(f"Team {team['name']}: {', '.join(team['members'])}")
    print(f"Invite code: {team['invite_code']}  (others join with `hackathon team join CODE`)")


@reports_errors
def cmd_team(args: argparse.Namespace) -> int:
    client = client_from_config()
    if args.action == "create":
        team = client.post(f"{API}/teams/", json_body={"name": args.value})
    elif args.action == "join":
        team = client.post(f"{API}/teams/join/", json_body={"code": args.value})
    else:
        me = client.get(f"{API}/me/")
        team = me.get("team")
        if not team:
            print("You are in no team: `hackathon team create NAME` or `hackathon team join CODE`.")
            return 1
    _print_team(team)
    return 0


# --- challenges and downloads ---------------------------------------------------------


@reports_errors
def cmd_challenges(args: argparse.Namespace) -> int:
    challenges = client_from_config().get(f"{API}/challenges/")
    if not challenges:
        print("No challenges yet.")
        return 0
    rows = [
        (
            c["slug"],
            c["title"],
            c["metric"],
            "higher" if c["direction"] == "maximize" else "lower",
            "open" if c["is_open"] else ("ended" if c["has_ended"] else "not open"),
            c.get("end_at") or "-",
        )
        for c in challenges
    ]
    print(render.table(["SLUG", "TITLE", "METRIC", "BETTER", "STATE", "ENDS"], rows))
    return 0


# A starter kit holds the training data: larger than a bundle upload may be.
KIT_MAX_ENTRIES = 1000
KIT_MAX_UNPACKED_BYTES = 2 * 1024**3


def extract_zip_safely(
    data: bytes,
    target: Path,
    *,
    max_entries: int = KIT_MAX_ENTRIES,
    max_unpacked_bytes: int = KIT_MAX_UNPACKED_BYTES,
) -> list[Path]:
    """Unpack into `target`, dropping one common top folder, through the platform's one zip
    reader (caps on entries and bytes; no entry may escape `target`)."""
    try:
        entries = read_zip(data, max_entries=max_entries, max_unpacked_bytes=max_unpacked_bytes)
    except ZipRefused as exc:
        raise CliError(f"Refusing an unsafe path or archive in the starter kit: {exc}") from None
    names = {PurePosixPath(name): body for name, body in entries.items()}
    tops = {name.parts[0] for name in names if len(name.parts) > 1}
    strip = len(tops) == 1 and all(len(name.parts) > 1 for name in names)
    written = []
    for name, body in names.items():
        relative = PurePosixPath(*name.parts[1:]) if strip else name
        path = target.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        written.append(path)
    return written


@reports_errors
def cmd_download(args: argparse.Namespace) -> int:
    client = client_from_config()
    target = Path(args.dir or args.slug)
    if target.exists() and any(target.iterdir()) and not args.force:
        raise CliError(f"{target} exists and is not empty (use --force to overwrite files in it).")
    data = client.download(f"{API}/challenges/{args.slug}/starter-kit.zip")
    target.mkdir(parents=True, exist_ok=True)
    files = extract_zip_safely(data, target)
    print(f"Starter kit for {args.slug} in {target}/ ({len(files)} files):")
    for path in sorted(files):
        print(f"  {path}")
    return 0


# --- submissions ----------------------------------------------------------------------

TERMINAL = "finished"


def _status_line(sub: dict[str, Any], elapsed: float) -> str:
    state = sub["state"]
    if state == "queued":
        pos = sub.get("queue_position")
        where = f"queued, position {pos}" if pos else "queued"
        return f"#{sub['id']} {where}  {elapsed:4.0f}s"
    if state == "running":
        curve = sub.get("loss_curve") or []
        tail = f"  loss {render.score(curve[-1])} {render.sparkline(curve, 30)}" if curve else ""
        return f"#{sub['id']} running  {elapsed:4.0f}s{tail}"
    return f"#{sub['id']} {sub.get('verdict_label') or sub.get('verdict')}"


def print_submission(sub: dict[str, Any], out: TextIO | None = None, *, full: bool = True) -> None:
    out = out or sys.stdout  # looked up when called, so a redirected stdout is honoured
    verdict = sub.get("verdict_label") or sub["state"]
    print(f"Submission #{sub['id']} on {sub['challenge']} by {sub.get('user') or '-'}", file=out)
    print(f"  state:    {sub['state']}", file=out)
    print(f"  verdict:  {verdict}", file=out)
    if sub.get("message"):
        print(f"  message:  {sub['message']}", file=out)
    if sub.get("public_score") is not None:
        ci = ""
        if sub.get("public_ci_low") is not None and sub.get("public_ci_high") is not None:
            ci = f"  (95% CI {render.score(sub['public_ci_low'])} .. {render.score(sub['public_ci_high'])})"
        print(f"  public score:  {render.score(sub['public_score'])}{ci}", file=out)
    if sub.get("private_score") is not None:
        print(f"  private score: {render.score(sub['private_score'])}", file=out)
    if sub.get("fit_seconds") is not None:
        print(
            f"  fit {render.seconds(sub['fit_seconds'])}, predict "
            f"{render.seconds(sub.get('predict_seconds'))}, peak memory "
            f"{render.megabytes(sub.get('peak_memory_mb'))}",
            file=out,
        )
    if sub.get("is_final"):
        print("  selected as final", file=out)
    if sub.get("disqualified"):
        print(f"  DISQUALIFIED: {sub.get('disqualified_reason')}", file=out)
    if not full:
        return
    curve = sub.get("loss_curve") or []
    if curve:
        print(
            f"  loss curve ({len(curve)} points, {render.score(curve[0])} -> "
            f"{render.score(curve[-1])}): {render.sparkline(curve)}",
            file=out,
        )
    for diag in sub.get("diagnostics") or []:
        print(f"  ! {diag.get('title')}: {diag.get('detail')}", file=out)
    for stream in ("stdout", "stderr"):
        text = (sub.get(stream) or "").rstrip()
        if text:
            lines = text.splitlines()
            shown = lines[-20:]
            print(f"  {stream} (last {len(shown)} of {len(lines)} lines):", file=out)
            for line in shown:
                print(f"    {line}", file=out)


class ProgressLine:
    """One line rewritten in place on a terminal; one line per change of state otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.interactive = out.isatty()
        self.last = ""

    def show(self, line: str) -> None:
        if self.interactive:
            self.out.write("\r" + line.ljust(len(self.last)))
            self.out.flush()
        elif line.split("  ")[0] != self.last.split("  ")[0]:
            self.out.write(line + "\n")
            self.out.flush()
        self.last = line

    def clear(self) -> None:
        if self.interactive and self.last:
            self.out.write("\r" + " " * len(self.last) + "\r")
            self.out.flush()


def _gave_up(submission_id: int, timeout: float, state: str) -> CliError:
    return CliError(
        f"Gave up waiting after {timeout:.0f} s; submission #{submission_id} is still "
        f"{state}. Check later with `hackathon status {submission_id}`."
    )


def follow_live(
    client: ApiClient, submission_id: int, *, deadline: float, started: float, line: ProgressLine
) -> dict[str, Any] | None:
    """Follow the submission's Server-Sent Events; None if the stream is unavailable or ends
    before the verdict (the caller then polls)."""
    detail = f"{API}/submissions/{submission_id}/"
    try:
        stream = client.open_stream(f"{detail}events/", timeout=60)
    except ApiClientError as exc:
        if exc.status in (0, 404, 405, 501):
            return None  # an older server, or a proxy that does not stream: poll instead
        raise
    with stream:
        sub = client.get(detail)  # read after subscribing: no event can fall in between
        try:
            for kind, raw in iter_sse(stream):
                if sub["state"] == TERMINAL:
                    break
                now = time.monotonic()
                if now > deadline:
                    raise _gave_up(submission_id, deadline - started, sub["state"])
                if kind == "comment":
                    if sub["state"] == "queued":
                        sub = client.get(detail)  # the queue position moves without events
                else:
                    message = render.terminal_safe(json.loads(raw))
                    event, data = message.get("event"), message.get("data") or {}
                    if event == "finished":
                        break
                    if event == "state":
                        sub = client.get(detail)
                    elif event == "progress":
                        sub["state"] = "running"
                        sub["loss_curve"] = data.get("loss_curve") or []
                line.show(_status_line(sub, now - started))
        except (OSError, ValueError):
            return None  # the connection dropped or sent garbage: poll instead
    final = client.get(detail)
    return final if final["state"] == TERMINAL else None


def follow_submission(
    client: ApiClient, submission_id: int, *, timeout: float, out: TextIO = sys.stderr
) -> dict[str, Any]:
    """Show the submission's progress (queue position, training loss) until it is graded.

    Live through Server-Sent Events; by polling the API with back-off when the server
    cannot stream. Returns the finished submission's detail."""
    started = time.monotonic()
    deadline = started + timeout
    line = ProgressLine(out)
    try:
        final = follow_live(client, submission_id, deadline=deadline, started=started, line=line)
        delay = 0.5
        while final is None:
            sub = client.get(f"{API}/submissions/{submission_id}/")
            if sub["state"] == TERMINAL:
                final = sub
                break
            now = time.monotonic()
            line.show(_status_line(sub, now - started))
            if now > deadline:
                raise _gave_up(submission_id, timeout, sub["state"])
            time.sleep(delay)
            delay = min(delay * 1.5, 3.0)
    finally:
        line.clear()
    return final


@reports_errors
def cmd_submit(args: argparse.Namespace) -> int:
    path = Path(args.file)
    check_readable_file(path)
    client = client_from_config()
    content = path.read_bytes()
    sub = client.post(
        f"{API}/challenges/{args.slug}/submissions/", files={"file": (path.name, content)}
    )
    print(f"Submitted {path} to {args.slug} as #{sub['id']}.")
    if not args.wait:
        print(f"Follow it with `hackathon status {sub['id']}`.")
        return 0
    final = follow_submission(client, sub["id"], timeout=args.timeout)
    print_submission(final)
    return 0 if final.get("verdict") == "scored" else 1


@reports_errors
def cmd_status(args: argparse.Namespace) -> int:
    client = client_from_config()
    if args.id is not None:
        sub = client.get(f"{API}/submissions/{args.id}/")
        if args.json:
            print(json.dumps(sub, indent=2))
        else:
            print_submission(sub)
        return 0
    page = client.get(
        f"{API}/submissions/", query={"challenge": args.challenge, "page_size": args.limit}
    )
    if args.json:
        print(json.dumps(page, indent=2))
        return 0
    rows = [
        (
            s["id"],
            s["challenge"],
            s["state"],
            s.get("verdict_label") or "",
            s.get("public_score"),
            s.get("private_score"),
            s.get("is_final"),
            s["created_at"][:19].replace("T", " "),
        )
        for s in page["results"]
    ]
    if not rows:
        print("No submissions yet.")
        return 0
    print(
        render.table(
            ["ID", "CHALLENGE", "STATE", "VERDICT", "PUBLIC", "PRIVATE", "FINAL", "CREATED (UTC)"],
            rows,
        )
    )
    return 0


@reports_errors
def cmd_select(args: argparse.Namespace) -> int:
    client = client_from_config()
    path = f"{API}/submissions/{args.id}/final/"
    result = client.delete(path) if args.unselect else client.post(path)
    state = "selected as final" if result["is_final"] else "no longer a final"
    print(f"Submission #{args.id} is {state}.")
    return 0


@reports_errors
def cmd_share(args: argparse.Namespace) -> int:
    """Share the team's final solution on the challenge's debrief (after the end), or stop."""
    client = client_from_config()
    path = f"{API}/submissions/{args.id}/share/"
    if args.stop:
        client.delete(path)
        print("Your team's solution is no longer shared on the debrief.")
        return 0
    client.post(path)
    slug = client.get(f"{API}/submissions/{args.id}/")["challenge"]
    print(
        f"Submission #{args.id} is shared as your team's solution on the debrief: "
        f"{client.url(f'/leaderboard/{slug}/debrief/')}\n"
        "It shows your team's final submission: if a rejudge or a disqualification changes "
        "which one that is, it shows the new one. Stop with `hackathon share "
        f"{args.id} --stop`."
    )
    return 0


@reports_errors
def cmd_leaderboard(args: argparse.Namespace) -> int:
    client = client_from_config()
    kind = "private" if args.private else "public"
    board = client.get(
        f"{API}/challenges/{args.slug}/leaderboard/",
        query={"kind": kind, "page": args.page, "page_size": args.page_size},
    )
    better = "higher" if board["direction"] == "maximize" else "lower"
    frozen = "  (frozen: as at the freeze)" if board.get("frozen") else ""
    print(f"{args.slug}: {kind} leaderboard, {board['metric']} ({better} is better){frozen}")
    if not board["rows"]:
        print("No scores yet.")
        return 0
    rows = [
        (
            r.get("rank") or ("baseline" if r.get("is_baseline") else "-"),
            r["team"] + (" (you)" if r.get("is_own") else ""),
            r.get("score"),
            r.get("entries"),
            (r.get("last_submission_at") or "")[:19].replace("T", " "),
        )
        for r in board["rows"]
    ]
    print(render.table(["RANK", "TEAM", "SCORE", "ENTRIES", "LAST (UTC)"], rows))
    own = board.get("own") or {}
    if own.get("live_score") is not None:
        print(
            f"Your latest score, after the freeze (only you see it): {render.score(own['live_score'])}"
        )
    if board["page"] < board["num_pages"]:
        print(f"... {board['total_teams']} teams; next page: --page {board['page'] + 1}")
    return 0


# --- argument parsing -----------------------------------------------------------------


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("login", help="save the server URL and an API token")
    p.add_argument(
        "--url", required=True, help="the platform's address, e.g. http://127.0.0.1:8000"
    )
    p.add_argument("--token", help="an API token from your profile page (else asked)")
    p.add_argument("--username", help="log in with username and password to create a token")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--token-name", default="cli", help="name of the token created (default: cli)")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("logout", help="forget the saved URL and token")
    p.set_defaults(func=cmd_logout)

    p = sub.add_parser("team", help="show your team, create one, or join one with a code")
    p.add_argument("action", nargs="?", choices=["show", "create", "join"], default="show")
    p.add_argument("value", nargs="?", help="team name (create) or invite code (join)")
    p.set_defaults(func=_team_checked)

    p = sub.add_parser("challenges", help="list the challenges")
    p.set_defaults(func=cmd_challenges)

    p = sub.add_parser("download", help="download a challenge's starter kit")
    p.add_argument("slug")
    p.add_argument("dir", nargs="?", help="target folder (default: ./SLUG)")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("submit", help="submit a solution.py")
    p.add_argument("slug")
    p.add_argument("file")
    p.add_argument("--wait", action="store_true", help="follow it until it is graded")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait (default 1800)")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("status", help="your team's submissions, or one in detail")
    p.add_argument("id", nargs="?", type=int)
    p.add_argument("--challenge", help="only this challenge")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("leaderboard", help="a challenge's leaderboard")
    p.add_argument("slug")
    p.add_argument("--private", action="store_true", help="the private board (once revealed)")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--page-size", type=int, default=50)
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("select", help="select a submission as final (or --unselect)")
    p.add_argument("id", type=int)
    p.add_argument("--unselect", action="store_true")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser(
        "share",
        help="after the end: share your team's final solution on the debrief (or --stop)",
    )
    p.add_argument(
        "id", type=int, help="your team's final submission (with --stop: any of its submissions)"
    )
    p.add_argument("--stop", action="store_true", help="stop sharing")
    p.set_defaults(func=cmd_share)


def _team_checked(args: argparse.Namespace) -> int:
    if args.action in ("create", "join") and not args.value:
        what = "a team name" if args.action == "create" else "an invite code"
        print(f"error: `hackathon team {args.action}` needs {what}.", file=sys.stderr)
        return 2
    return cmd_team(args)
