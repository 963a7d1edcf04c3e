"""Code fingerprints for near-duplicate detection, in the spirit of MOSS (winnowing).

Plain Python, no Django: the integrity service stores and compares what this computes.

1. The source is tokenized (`tokenize`) and normalised so that cosmetic edits change
   nothing: comments and blank lines go, every identifier the author chose (variables,
   functions, parameters, attributes of `self`) becomes `N`, every number `0`, every
   string `S`. Keywords, operators, builtins and library attributes (`np.mean`, `.T`,
   `.append`) stay as they are: they carry the algorithm, and nobody renames them.
2. Every run of K consecutive tokens is hashed (a stable 64-bit hash, the same in every
   process).
3. Winnowing (Schleimer, Wilkerson, Aiken 2003): in each window of W consecutive k-gram
   hashes the minimum is kept. Any shared run of at least W + K - 1 tokens is then
   guaranteed to share a fingerprint, and the fingerprint set is a fraction of the hashes.

A fingerprint is a set, so reordering functions or classes keeps all fingerprints but
the few spanning the boundaries; renaming variables keeps them all.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

import numpy as np

K = 12  # tokens per k-gram
W = 8  # k-grams per winnowing window: runs of K + W - 1 = 19 tokens always match

_BUILTINS = frozenset(dir(builtins))
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}


@dataclass(frozen=True)
class Fingerprint:
    hashes: np.ndarray  # sorted unique uint64
    lines: dict[int, tuple[int, int]]  # hash -> first (start line, end line) in the source

    @property
    def size(self) -> int:
        return int(self.hashes.size)


def normalized_tokens(source: str) -> list[tuple[str, int]]:
    """(normalised token, line) for each significant token of `source`."""
    out: list[tuple[str, int]] = []
    previous = ""
    before_previous = ""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # Not tokenizable as a whole (it was still stored): fall back on words, so
        # that the check degrades instead of failing.
        return [
            (word, number)
            for number, line in enumerate(source.splitlines(), 1)
            for word in re.findall(r"\w+|[^\w\s]", line)
        ]
    for tok in tokens:
        if tok.type in _SKIP:
            continue
        if tok.type == tokenize.NAME:
            text = tok.string
            if keyword.iskeyword(text) or keyword.issoftkeyword(text):
                value = text
            elif previous == "." and before_previous != "self":
                value = text  # a library attribute: np.mean, X.T, .append
            elif text in _BUILTINS and previous != ".":
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
        out.append((value, tok.start[0]))
    return out


def _hash(gram: list[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def fingerprint(source: str, *, k: int = K, w: int = W) -> Fingerprint:
    """The winnowed fingerprint of `source`, with where each fingerprint came from."""
    tokens = normalized_tokens(source)
    texts = [t for t, _ in tokens]
    grams = [_hash(texts[i : i + k]) for i in range(max(0, len(texts) - k + 1))]
    chosen: dict[int, tuple[int, int]] = {}
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
                span = (tokens[position][1], tokens[min(position + k, len(tokens)) - 1][1])
                chosen.setdefault(low, span)
    hashes = np.array(sorted(chosen), dtype=np.uint64)
    return Fingerprint(hashes=hashes, lines=chosen)


def to_bytes(hashes: np.ndarray) -> bytes:
    return np.asarray(hashes, dtype="<u8").tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)
