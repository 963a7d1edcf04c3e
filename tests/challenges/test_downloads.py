"""Downloads: compressed forms of the training rows, resumable with HTTP ranges, a kit that
leaves out the second copy of a large dataset, and a CLI that downloads the data once."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from hackathon.challenges.downloads import download_file
from hackathon.cli import evaluate as cli_evaluate
from hackathon.cli.client import ApiClient


def _body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["train.npz", "train.csv.gz", "starter-kit.zip"])
def test_a_broken_download_resumes_with_a_range(
    client: Client, make_challenge: object, kind: str
) -> None:
    make_challenge(slug="ranged")
    whole = client.get(f"/challenges/ranged/{kind}")
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    data = _body(whole)
    etag = whole["ETag"]
    cut = len(data) // 3
    rest = client.get(f"/challenges/ranged/{kind}", HTTP_RANGE=f"bytes={cut}-")
    assert rest.status_code == 206
    assert rest["Content-Range"] == f"bytes {cut}-{len(data) - 1}/{len(data)}"
    assert data[:cut] + _body(rest) == data
    middle = client.get(f"/api/v1/challenges/ranged/{kind}", HTTP_RANGE="bytes=5-14")
    assert middle.status_code == 206 and _body(middle) == data[5:15]
    tail = client.get(f"/challenges/ranged/{kind}", HTTP_RANGE="bytes=-7")
    assert _body(tail) == data[-7:]
    beyond = client.get(f"/challenges/ranged/{kind}", HTTP_RANGE=f"bytes={len(data)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(data)}"
    stale = client.get(f"/challenges/ranged/{kind}", HTTP_RANGE="bytes=5-14", HTTP_IF_RANGE='"old"')
    assert stale.status_code == 200 and _body(stale) == data
    same = client.get(f"/challenges/ranged/{kind}", HTTP_RANGE="bytes=5-14", HTTP_IF_RANGE=etag)
    assert same.status_code == 206


def test_a_kit_over_the_size_limit_ships_one_copy_of_the_data(
    client: Client, make_challenge: object, settings: object
) -> None:
    challenge = make_challenge(slug="big")
    npz = download_file(challenge, "train.npz").stat().st_size
    settings.STARTER_KIT_DATA_MAX_BYTES = npz + 10  # room for the npz, not for both
    kit = make_challenge(slug="big2")
    archive = zipfile.ZipFile(io.BytesIO(_body(client.get("/challenges/big2/starter-kit.zip"))))
    names = {n.split("/", 1)[1] for n in archive.namelist()}
    assert "train.npz" in names and "train.csv.gz" not in names
    readme = archive.read("big2/README.md").decode()
    assert "/challenges/big2/train.csv.gz" in readme and "separate download" in readme
    assert client.get(f"/challenges/{kit.slug}/train.csv.gz").status_code == 200


def test_the_second_evaluate_of_a_challenge_downloads_nothing(
    live_server: object, make_challenge: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_challenge(slug="cached")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    downloads: list[str] = []

    class CountingClient(ApiClient):
        def download(self, path: str) -> bytes:
            downloads.append(path)
            return super().download(path)

    client = CountingClient(base_url=live_server.url)  # type: ignore[attr-defined]
    challenge = client.get("/api/v1/challenges/cached/")
    first = cli_evaluate.cached_training_data(client, challenge)
    second = cli_evaluate.cached_training_data(client, challenge)
    assert first == second and len(downloads) == 1
    assert downloads[0].endswith("/train.npz")
    cached = list((tmp_path / "cache" / "hackathon" / "data").iterdir())
    assert [p.name for p in cached] == [f"cached-{challenge['training_data_version']}.npz"]
    with np.load(io.BytesIO(first)) as npz:
        assert npz["X"].shape[0] == challenge["n_train"]
