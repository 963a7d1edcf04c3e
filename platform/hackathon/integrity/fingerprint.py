"""Code fingerprints for near-duplicate detection, in the spirit of MOSS (winnowing).

Plain Python, no Django: the integrity service stores and compares what this computes.

1. The program is parsed and put in its canonical form (`canonical.py`): definitions
   sorted, dead code dropped, loop forms and rewritable operations made one. Each
   statement is then tokenized (`tokenize`) and normalised so that cosmetic edits change
   nothing: every identifier the author chose (variables, functions, parameters,
   attributes no library defines) becomes `N`, every number `0`, every string `S`.
   Keywords, operators, builtins and library names (`np.mean`, `.T`, `.append`) stay as
   they are: they carry the algorithm, and a working copy cannot rename them. A file
   that does not parse is tokenized as it is (or split into words).
2. Every run of K consecutive tokens is hashed (a stable 64-bit hash, the same in every
   process).
3. Winnowing (Schleimer, Wilkerson, Aiken 2003): in each window of W consecutive k-gram
   hashes the minimum is kept. Any shared run of at least W + K - 1 tokens is then
   guaranteed to share a fingerprint, and the fingerprint set is a fraction of the hashes.

A fingerprint is a set, and each remembers the source lines it came from (the statements,
for the side-by-side view). `VERSION` names this normalisation: fingerprints of another
version are not compared (the integrity sweep computes them again).
"""

from __future__ import annotations

import ast
import builtins
import collections
import functools
import hashlib
import io
import itertools
import keyword
import math
import random
import re
import statistics
import tokenize
from dataclasses import dataclass

import numpy as np

from hackathon.integrity.canonical import LINE_MARK, canonical_tree, marked_source

VERSION = 2
K = 12  # tokens per k-gram
W = 8  # k-grams per winnowing window: runs of K + W - 1 = 19 tokens always match
CANONICAL_MAX_BYTES = 256 * 1024  # larger sources (embedded data) are tokenized as they are

# The language's own names ("_" aside: the interactive interpreter binds it in builtins, so
# whether it is there depends on the process, and a fingerprint must not).
_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))
# Names libraries define: an attribute with one of these names is kept, any other attribute
# name is the author's (`model.weights`, `cfg.lr`) and becomes N like other identifiers.
LIBRARY_NAMES = frozenset(
    name
    for namespace in (
        np, np.ndarray, np.random, np.random.Generator, np.linalg, np.ma, math, random,
        statistics, itertools, functools, collections, builtins, list, dict, str, set,
        tuple, float, int, bytes, object,
    )
    for name in dir(namespace)
    if name != "_"
)  # fmt: skip
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}


@dataclass(frozen=True)
class Fingerprint:
    hashes: np.ndarray  # sorted unique uint64
    lines: dict[int, tuple[int, ...]]  # hash -> the source lines its first k-gram covers

    @property
    def size(self) -> int:
        return int(self.hashes.size)


Token = tuple[str, int, int]  # normalised text, first and last source line


def _normalised(
    tokens: list[tokenize.TokenInfo], spans: list[tuple[int, int]] | None = None
) -> list[Token]:
    """Normalise tokens; each keeps its own lines, or those of `spans` (one per token)."""
    out: list[Token] = []
    previous = before_previous = ""
    for index, tok in enumerate(tokens):
        if tok.type in _SKIP:
            continue
        if tok.type == tokenize.NAME:
            text = tok.string
            if keyword.iskeyword(text) or (keyword.issoftkeyword(text) and text != "_"):
                value = text  # ("_" is a name like any other outside a match statement)
            elif previous == ".":
                if before_previous != "self" and text in LIBRARY_NAMES:
                    value = text  # np.mean, X.T
                elif len(out) >= 2 and out[-1][0] == "." and out[-2][0] == "N":
                    # self.w, cfg.lr, and self.params.w alike: a chain of the author's
                    # attributes is one name (an extra object adds no code of its own).
                    del out[-1]
                    before_previous, previous = previous, tok.string
                    continue
                else:
                    value = "N"
            elif text in _BUILTINS:
                value = text
            else:
                value = "N"
        elif tok.type == tokenize.NUMBER:
            value = "0"
        elif tok.type in (tokenize.STRING, getattr(tokenize, "FSTRING_START", -1)):
            value = "S"
        elif tok.type == tokenize.NEWLINE:
            value = ";"
        elif tok.type == tokenize.INDENT:
            value = "{"
        elif tok.type == tokenize.DEDENT:
            value = "}"
        else:
            value = tok.string
        before_previous, previous = previous, tok.string
        first, last = spans[index] if spans is not None else (tok.start[0], tok.end[0])
        out.append((value, first, last))
    return out


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(text + "\n").readline))


def node_label(node: ast.AST) -> str:
    """A node's own label in the shape keys of `canonical.py`: its type, and the name when a
    library or the language defines it (never the author's names or literals)."""
    name = type(node).__name__
    if isinstance(node, ast.Attribute) and node.attr in LIBRARY_NAMES:
        return f"{name}.{node.attr}"
    if isinstance(node, ast.Name) and node.id in _BUILTINS:
        return f"{name}:{node.id}"
    return name


def _canonical_tokens(source: str) -> list[Token] | None:
    if len(source) > CANONICAL_MAX_BYTES:
        return None
    try:
        text = marked_source(canonical_tree(ast.parse(source), node_label))
        tokens = _tokens(text)
    except Exception:  # noqa: BLE001 - any program the rewrite cannot take: tokens as written
        return None
    # Drop the `__line__(first, last)` marks, giving their lines to the tokens that follow.
    kept: list[tokenize.TokenInfo] = []
    spans: list[tuple[int, int]] = []
    span = (0, 0)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == tokenize.NAME and tok.string == LINE_MARK:
            first, last = int(tokens[i + 2].string), int(tokens[i + 4].string)
            span = (first, max(first, last))
            i += 7  # __line__ ( first , last ) NEWLINE
            continue
        kept.append(tok)
        spans.append(span)
        i += 1
    return _normalised(kept, spans)


def normalized_tokens(source: str) -> list[Token]:
    """(normalised token, first line, last line) for each significant token of `source`,
    from its canonical form when it parses."""
    canonical = _canonical_tokens(source)
    if canonical is not None:
        return canonical
    try:
        return _normalised(_tokens(source))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # Not tokenizable as a whole (it was still stored): fall back on words, so
        # that the check degrades instead of failing.
        return [
            (word, number, number)
            for number, line in enumerate(source.splitlines(), 1)
            for word in re.findall(r"\w+|[^\w\s]", line)
        ]


def _hash(gram: list[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def fingerprint(source: str, *, k: int = K, w: int = W) -> Fingerprint:
    """The winnowed fingerprint of `source`, with where each fingerprint came from."""
    tokens = normalized_tokens(source)
    texts = [t for t, _, _ in tokens]
    grams = [_hash(texts[i : i + k]) for i in range(max(0, len(texts) - k + 1))]
    chosen: dict[int, tuple[int, ...]] = {}
    if grams:
        windows = range(max(1, len(grams) - w + 1))
        last = -1
        for start in windows:
            window = grams[start : start + w]
            low = min(window)
            # The rightmost minimum: the same choice as the previous window when it is
            # still inside, so a fingerprint is recorded once.
            position = start + len(window) - 1 - window[::-1].index(low)
            if position != last:
                last = position
                if low not in chosen:
                    covered = tokens[position : position + k]
                    chosen[low] = tuple(
                        sorted({n for _, first, last in covered for n in range(first, last + 1)})
                    )
    hashes = np.array(sorted(chosen), dtype=np.uint64)
    return Fingerprint(hashes=hashes, lines=chosen)


def to_bytes(hashes: np.ndarray) -> bytes:
    return np.asarray(hashes, dtype="<u8").tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)
