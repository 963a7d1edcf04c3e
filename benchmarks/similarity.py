"""Integrity check cost as a challenge grows to 1,000 submissions: print a table.

    .venv/bin/python benchmarks/similarity.py [--submissions 1000] [--teams 250]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_similarity]

Each submission is checked as it arrives, the way the default-queue worker does after a
result is stored (`integrity_check_submission`: fingerprint, embedded data, scores, and the
similarity against every stored fingerprint of the challenge's other teams). Programs are
made from the diabetes starter and helper functions of each team's own: identifiers
renamed at random, literals changed, statements added; one team in ten copies another
team's code. Two sets, one challenge each: "renamed" (the copies are renamed, with
literals changed) and "disguised" (the copies also get dead code between statements,
`for` loops rewritten as counted `while` loops, operands of + and * swapped, `a @ b` as
`np.dot(a, b)`, and functions and methods reordered: `disguise`).
Recall: copying pairs flagged among those where both teams submitted. Honest pairs
flagged: pairs of teams where neither copied the other nor both copied the same team.

Default database: a fresh SQLite file in a temporary folder (the embedded setup).
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

SOURCES = [
    ROOT / "challenges/diabetes-gd/starter/solution.py",
]
EXTRA_LINES = [
    "        scale = float(np.max(np.abs(X))) + {n}",
    "        self.history_{n} = []",
    "        clip = np.clip(X, -{n}, {n})",
    "        total = 0.0\n        for value in range({n}):\n            total += value",
    "        if X.shape[0] > {n}:\n            X = X[: {n} * 100]",
]


def mutate(source: str, rng: random.Random) -> str:
    """Rename every author identifier, change numbers, add a few statements."""
    names: dict[str, str] = {}
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        text = tok.string
        if tok.type == tokenize.NAME and text.endswith("_") is False and text.islower():
            if text not in {
                "self",
                "np",
                "numpy",
                "import",
                "class",
                "def",
                "return",
                "for",
                "in",
                "range",
                "if",
                "else",
                "float",
                "len",
                "int",
                "and",
                "or",
                "not",
                "is",
                "none",
                "true",
                "false",
                "while",
                "break",
                "from",
                "as",
                "lambda",
                "with",
                "elif",
                "continue",
                "pass",
                "yield",
                "fit",
                "predict",
                "mean",
                "std",
                "zeros",
                "sum",
                "sqrt",
                "shape",
                "axis",
                "where",
                "random",
                "max",
                "min",
                "abs",
                "exp",
                "log",
                "append",
                "hstack",
                "ones",
                "median",
                "percentile",
                "clip",
                "permutation",
                "default_rng",
                "zeros_like",
                "array",
                "dot",
            }:
                text = names.setdefault(text, f"v{rng.randrange(10**6)}")
        elif tok.type == tokenize.NUMBER and rng.random() < 0.5:
            text = str(round(rng.uniform(0.001, 100), 3))
        out.append((tok.type, text))
    program = tokenize.untokenize(out)
    lines = program.splitlines()
    for _ in range(rng.randrange(0, 6)):
        where = next(
            (i for i in rng.sample(range(len(lines)), len(lines)) if "def fit" in lines[i]), None
        )
        if where is not None:
            extra = rng.choice(EXTRA_LINES).format(n=rng.randrange(2, 50))
            lines.insert(where + 1, extra)
    return "\n".join(lines) + "\n"


NUMPY_CALLS = [
    "np.mean",
    "np.sum",
    "np.exp",
    "np.log1p",
    "np.tanh",
    "np.abs",
    "np.sqrt",
    "np.maximum",
    "np.minimum",
    "np.square",
    "np.cumsum",
    "np.sign",
    "np.var",
]
OPERATORS = ["+", "-", "*", "/", "**"]


def _expression(rng: random.Random, depth: int = 0) -> str:
    if depth > 2 or rng.random() < 0.25:
        return rng.choice(["a", "b", "c", "X", "y", str(rng.randrange(1, 9))])
    if rng.random() < 0.5:
        return f"{rng.choice(NUMPY_CALLS)}({_expression(rng, depth + 1)})"
    op = rng.choice(OPERATORS)
    return f"({_expression(rng, depth + 1)} {op} {_expression(rng, depth + 1)})"


def own_helpers(rng: random.Random) -> str:
    """A team's own code: helper functions no other team writes the same way."""
    blocks = []
    for k in range(rng.randrange(2, 5)):
        body = [f"    {v} = {_expression(rng)}" for v in ("a", "b", "c")]
        if rng.random() < 0.5:
            body.append(
                f"    for _ in range({rng.randrange(2, 9)}):\n        a = {_expression(rng)}"
            )
        body.append(f"    return {_expression(rng)}")
        blocks.append(f"def helper_{k}(X, y, a=1.0, b=2.0, c=3.0):\n" + "\n".join(body))
    return "\n\n\n".join(blocks) + "\n"


def setup_django(database_url: str | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-similarity-"))
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["HACKATHON_VAR_DIR"] = str(tmp)
    os.environ.setdefault("SECRET_KEY", "bench-similarity")
    os.environ["DJANGO_SETTINGS_MODULE"] = "hackathon.settings"
    subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"],
        check=True,
        env=os.environ,
    )
    import django

    django.setup()


class Disguise(ast.NodeTransformer):
    """What a team hiding a copy does beyond renaming: dead code between statements, `for`
    loops as counted `while` loops, operands of + and * swapped, `a @ b` as `np.dot(a, b)`,
    and (in `disguise`) functions and methods in another order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counter = 0

    def _dead(self) -> list[ast.stmt]:
        self.counter += 1
        n, k = self.counter, self.rng.randrange(2, 9)
        text = self.rng.choice(
            [
                f"unused_{n} = np.mean(X) * {k}",
                f"if False:\n    X = X * {k}",
                "pass",
                f'"""step {n}"""',
            ]
        )
        return ast.parse(text).body

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            if self.rng.random() < 0.5:
                out += self._dead()
            out.append(stmt)
        return out

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        node.body = self._body(node.body)
        return node

    def visit_For(self, node: ast.For) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        call = node.iter
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "range"
            and len(call.args) == 1
            and not node.orelse
        ):
            return node
        self.counter += 1
        name = f"i_{self.counter}"
        bound = ast.unparse(call.args[0])
        loop = ast.parse(f"{name} = 0\nwhile {name} < {bound}:\n    {name} += 1").body
        loop[1].body = [*node.body, *loop[1].body]  # type: ignore[attr-defined]
        return loop

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, (ast.Add, ast.Mult)) and self.rng.random() < 0.5:
            node.left, node.right = node.right, node.left
        if isinstance(node.op, ast.MatMult) and self.rng.random() < 0.5:
            dot = ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr="dot", ctx=ast.Load())
            return ast.Call(func=dot, args=[node.left, node.right], keywords=[])
        return node


def disguise(source: str, rng: random.Random) -> str:
    """A copy as a team hides it (see `Disguise`), functions and methods reordered."""
    tree = Disguise(rng).visit(ast.parse(source))
    for holder in [tree, *(n for n in tree.body if isinstance(n, ast.ClassDef))]:
        defs = [n for n in holder.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        rest = [n for n in holder.body if n not in defs]
        rng.shuffle(defs)
        holder.body = rest + defs
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def run_set(name: str, args: argparse.Namespace, sources: list[str]) -> dict:
    """One challenge of `args.submissions` checks; copies disguised by `disguise` when the
    set is "disguised" (renamed only otherwise). Returns the figures of the set."""
    import hashlib

    from django.utils import timezone
    from hackathon.accounts.models import Team
    from hackathon.challenges.models import Challenge
    from hackathon.integrity import fingerprint as fp
    from hackathon.integrity.models import CodeFingerprint, FlagKind, IntegrityFlag
    from hackathon.integrity.services import integrity_check_submission
    from hackathon.submissions.models import Submission

    rng = random.Random(12)  # noqa: S311 - reproducible test data, not a secret
    slug = f"bench-similarity-{name}-{int(time.time())}"
    challenge = Challenge.objects.create(
        slug=slug,
        title="Similarity benchmark",
        task="regression",
        metric="rmse",
        is_published=True,
        starter_code=sources[0],
        start_at=timezone.now(),
    )
    teams = [
        Team.objects.create(name=f"{slug}-t{i}", invite_code=f"{slug[-12:]}{i:06}")
        for i in range(args.teams)
    ]
    # Each team starts from the starter (shared by design, left out of the comparison) and
    # writes its own code; one team in ten copies another team's instead.
    team_code = {team.pk: sources[0] + "\n\n" + own_helpers(rng) for team in teams}
    pks = [t.pk for t in teams]
    copied = set(rng.sample(pks, len(teams) // 10))
    # Each copying team copies one other team's code (in team order: reproducible).
    victim_of = {pk: rng.choice([t for t in pks if t not in copied]) for pk in sorted(copied)}

    checkpoints = sorted(
        {100, 250, 500, 1000, args.submissions} & set(range(1, args.submissions + 1))
    )
    timings: list[float] = []
    fingerprint_times: list[float] = []
    rows = []
    started = time.perf_counter()
    for n in range(1, args.submissions + 1):
        team = rng.choice(teams)
        if team.pk in copied:
            code = team_code[victim_of[team.pk]]
            if name == "disguised":
                code = disguise(code, rng)
            code = mutate(code, rng)  # a copy, renamed
        else:
            code = mutate(team_code[team.pk], rng)  # the team's own next version
        sub = Submission.objects.create(
            challenge=challenge,
            team=team,
            code=code,
            code_sha256=hashlib.sha256(code.encode()).hexdigest(),
            state="finished",
            verdict="scored",
            public_score=rng.uniform(50, 70),
            private_score=rng.uniform(50, 70),
            loss_curve=[3124.0871, 2987.4412, 2950.2318],
        )
        t0 = time.perf_counter()
        fp.fingerprint(code)
        fingerprint_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        integrity_check_submission(submission_id=sub.pk)
        timings.append(time.perf_counter() - t0)
        if n in checkpoints:
            window = timings[-min(50, len(timings)) :]
            rows.append(
                (
                    n,
                    statistics.median(window) * 1000,
                    max(window) * 1000,
                    statistics.median(fingerprint_times[-len(window) :]) * 1000,
                )
            )
    total = time.perf_counter() - started

    sizes = list(CodeFingerprint.objects.filter(challenge=challenge).values_list("size", flat=True))
    similar = IntegrityFlag.objects.filter(challenge=challenge, kind=FlagKind.SIMILAR_CODE)
    pairs = {
        frozenset(pair)
        for pair in similar.values_list("submission__team_id", "other_submission__team_id")
    }
    copy_pairs = {frozenset((copier, victim)) for copier, victim in victim_of.items()}
    # Two teams that copied the same team hold the same code: a copy too, not an honest pair.
    same_source = {
        frozenset((a, b))
        for a in victim_of
        for b in victim_of
        if a < b and victim_of[a] == victim_of[b]
    }
    submitted = set(
        Submission.objects.filter(challenge=challenge).values_list("team_id", flat=True)
    )
    detectable = {p for p in copy_pairs if p <= submitted}
    return {
        "name": name,
        "rows": rows,
        "total": total,
        "sizes": sizes,
        "flags": similar.count(),
        "found": len(pairs & detectable),
        "detectable": len(detectable),
        "honest": len(pairs - copy_pairs - same_source),
        "same_source": len(pairs & same_source),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=250)
    parser.add_argument("--sets", default="renamed,disguised", help="renamed, disguised or both")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    setup_django(args.database_url)
    sources = [path.read_text() for path in SOURCES]
    results = [run_set(name, args, sources) for name in args.sets.split(",")]

    engine = os.environ["DATABASE_URL"].split(":", 1)[0]
    load = os.getloadavg()[0]
    print(f"Integrity check, one challenge per set, {args.teams} teams, database {engine}")
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the end")
    for result in results:
        print()
        print(
            f"set {result['name']}: fingerprints per submission: median "
            f"{statistics.median(result['sizes']):.0f}"
        )
        print()
        print("| submissions stored | check p50 (ms) | check max (ms) | fingerprint p50 (ms) |")
        print("|---:|---:|---:|---:|")
        for n, p50, worst, fp50 in result["rows"]:
            print(f"| {n} | {p50:.1f} | {worst:.1f} | {fp50:.2f} |")
        print()
        total, count = result["total"], args.submissions
        print(f"{count} checks in {total:.1f} s ({total / count * 1000:.1f} ms each)")
        print(
            f"similar-code flags: {result['flags']}; copying pairs flagged: {result['found']} "
            f"of {result['detectable']} (both teams submitted); pairs of honest teams "
            f"flagged: {result['honest']}; pairs of teams that copied the same team: "
            f"{result['same_source']}"
        )


if __name__ == "__main__":
    main()
