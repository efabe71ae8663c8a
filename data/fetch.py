"""Fetch the official DDXPlus release from figshare into ``<data_dir>/ddxplus/``.

The file list comes from the figshare API (``GET {api}/articles/20043374``), so names, sizes,
download URLs and MD5 sums are the publisher's, not copies kept here. Each file is streamed to
``<name>.partial``, checked against its MD5 and only then renamed, so an interrupted download
never leaves a file that looks complete. The patients zips are unpacked to ``<base>.csv`` and
removed. Every failure the user can act on (offline, HTTP error, bad checksum, unwritable
folder) is a :class:`FetchError` with one line naming the URL or path and what to do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, NoReturn, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tqdm import tqdm

from agent.errors import DdxError
from data.locations import DDXPLUS, DDXPLUS_CONDITIONS, DDXPLUS_EVIDENCES, dataset_dir

DDXPLUS_ARTICLE_ID = 20043374
"""figshare article of the official DDXPlus release (CC-BY-4.0)."""

KB_FILES: tuple[str, ...] = (DDXPLUS_EVIDENCES, DDXPLUS_CONDITIONS)
"""The knowledge base: all that ``ddx chat`` needs."""

PATIENT_ZIPS: tuple[str, ...] = (
    "release_train_patients.zip",
    "release_validate_patients.zip",
    "release_test_patients.zip",
)
"""Simulated patients, needed only for benchmarks; each zip holds one CSV."""

KNOWN_DATASETS: tuple[str, ...] = (DDXPLUS,)

_CHUNK_BYTES = 1 << 16
_USER_AGENT = "ddx-agent (ddx data fetch)"

T = TypeVar("T")
Action = Literal["downloaded", "extracted", "kept"]


class FetchError(DdxError):
    """A download failed in a way the user can act on: network, server, checksum or disk."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries, so an offline machine gets its answer in seconds, not minutes.

    Connection errors and HTTP 5xx are retried ``attempts`` times in all, waiting
    ``backoff_s``, then twice that, and so on; HTTP 4xx and bad checksums are not retried.
    """

    attempts: int = 3
    backoff_s: float = 0.5
    timeout_s: float = 30.0
    connect_timeout_s: float = 10.0


class ReleaseFile(BaseModel):
    """One file of a figshare article, as the API lists it (other fields are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    download_url: str
    size: int = Field(ge=0)
    computed_md5: str = Field(pattern=r"^[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class FetchedFile:
    """What happened to one release file: the local path is the JSON or the extracted CSV."""

    release_name: str
    path: Path
    action: Action


@dataclass(frozen=True)
class FetchReport:
    """The dataset folder and one entry per release file, in release order."""

    folder: Path
    files: tuple[FetchedFile, ...]


@dataclass(frozen=True)
class FileStatus:
    """Whether one expected file is in the data directory; ``required`` marks the KB files."""

    path: Path
    present: bool
    required: bool


@dataclass(frozen=True)
class _Job:
    """What every step of one fetch needs, so helpers keep short argument lists."""

    client: httpx.Client
    folder: Path
    retry: RetryPolicy
    progress: bool


class _ServerError(Exception):
    """An HTTP 5xx: worth another attempt, reported as FetchError once attempts run out."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}".rstrip())


# --- names and local status --------------------------------------------------------------------


def require_known(dataset: str) -> str:
    """Return the dataset name, or fail listing the known ones (a typo is the usual cause)."""
    if dataset not in KNOWN_DATASETS:
        raise DdxError(f"Unknown dataset {dataset!r}. Known datasets: {', '.join(KNOWN_DATASETS)}.")
    return dataset


def local_name(release_name: str) -> str:
    """The file a release file becomes on disk: a patients zip becomes the CSV it holds."""
    if release_name.endswith(".zip"):
        return release_name.removesuffix(".zip") + ".csv"
    return release_name


def release_names(*, kb_only: bool = False) -> tuple[str, ...]:
    """The release files to fetch, knowledge base first so ``ddx chat`` works soonest."""
    return KB_FILES if kb_only else KB_FILES + PATIENT_ZIPS


def dataset_status(data_dir: Path, dataset: str = DDXPLUS) -> list[FileStatus]:
    """Which expected files of a dataset are on disk (for ``ddx data check``)."""
    folder = dataset_dir(data_dir, require_known(dataset))
    return [
        FileStatus(
            path=folder / local_name(name),
            present=(folder / local_name(name)).is_file(),
            required=name in KB_FILES,
        )
        for name in release_names()
    ]


def article_url(api_base: str, article_id: int = DDXPLUS_ARTICLE_ID) -> str:
    """The figshare API URL that lists an article's files."""
    return f"{api_base.rstrip('/')}/articles/{article_id}"


# --- the fetch ---------------------------------------------------------------------------------


def fetch_ddxplus(
    data_dir: Path,
    *,
    api_base: str,
    kb_only: bool = False,
    skip_existing: bool = False,
    if_missing: bool = False,
    progress: bool = True,
    retry: RetryPolicy | None = None,
) -> FetchReport:
    """Fetch the DDXPlus release into ``<data_dir>/ddxplus/`` and report what was done.

    ``kb_only`` fetches just the two JSON files. ``skip_existing`` keeps a file already on disk
    with the published size and MD5 (for a zip: whose CSV is already there). ``progress`` shows
    a bar per file when stderr is a terminal. ``if_missing`` does nothing, without touching the
    network, when every wanted file is already there (how `make run` starts offline).
    """
    if if_missing:
        folder = dataset_dir(data_dir, DDXPLUS)
        local = [(name, folder / local_name(name)) for name in release_names(kb_only=kb_only)]
        if all(path.is_file() for _, path in local):
            return FetchReport(
                folder=folder, files=tuple(FetchedFile(name, path, "kept") for name, path in local)
            )
    policy = retry or RetryPolicy()
    folder = _ensure_folder(dataset_dir(data_dir, DDXPLUS))
    with _client(policy) as client:
        job = _Job(client=client, folder=folder, retry=policy, progress=progress)
        files = _list_release(job, api_base, release_names(kb_only=kb_only))
        fetched = tuple(_fetch_one(job, release_file, skip_existing) for release_file in files)
    return FetchReport(folder=folder, files=fetched)


def _list_release(job: _Job, api_base: str, wanted: Iterable[str]) -> tuple[ReleaseFile, ...]:
    """The wanted files of the DDXPlus article, as the figshare API describes them."""
    url = article_url(api_base)
    payload = _with_retry(job, url, lambda: _get_json(job, url))
    return _select_files(payload, url, tuple(wanted), job.folder)


def _client(policy: RetryPolicy) -> httpx.Client:
    """One HTTP client for the whole fetch; figshare download URLs redirect to storage."""
    return httpx.Client(
        timeout=httpx.Timeout(policy.timeout_s, connect=policy.connect_timeout_s),
        follow_redirects=True,
        headers={"User-Agent": _USER_AGENT},
    )


def _ensure_folder(folder: Path) -> Path:
    """Create the dataset folder up front, so a read-only disk fails before any download."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _disk_error(exc, folder) from exc
    if not os.access(folder, os.W_OK):
        raise FetchError(
            f"Cannot write to {folder}. Choose a writable folder with --data-dir or DDX_DATA_DIR."
        )
    return folder


def _get_json(job: _Job, url: str) -> object:
    """GET a JSON document; a non-JSON answer means the API base URL is wrong."""
    response = job.client.get(url)
    _raise_for_status(response, job.folder)
    try:
        payload: object = response.json()
    except ValueError:
        raise FetchError(
            f"{url} did not return JSON. Check that DDX_FIGSHARE_API is the figshare API "
            "(default https://api.figshare.com/v2)."
        ) from None
    return payload


def _select_files(
    payload: object, url: str, wanted: tuple[str, ...], folder: Path
) -> tuple[ReleaseFile, ...]:
    """Pick the wanted files out of the article JSON, failing on anything missing or malformed."""
    entries = payload.get("files") if isinstance(payload, Mapping) else None
    if not isinstance(entries, list):
        raise FetchError(
            f"{url} returned JSON without a 'files' list. Check that DDX_FIGSHARE_API is the "
            "figshare API (default https://api.figshare.com/v2)."
        )
    by_name = {e.get("name"): e for e in entries if isinstance(e, Mapping)}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise FetchError(
            f"{url} does not list {', '.join(missing)}; the release may have changed. "
            f"Copy the files by hand into {folder} (see data/README.md)."
        )
    return tuple(_parse_entry(by_name[name], name, url) for name in wanted)


def _parse_entry(entry: object, name: str, url: str) -> ReleaseFile:
    """Validate one file entry, naming the file when a field is missing or malformed."""
    try:
        return ReleaseFile.model_validate(entry)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
        raise FetchError(f"{url} lists {name} with missing or invalid fields: {fields}.") from None


def _fetch_one(job: _Job, release_file: ReleaseFile, skip_existing: bool) -> FetchedFile:
    """Fetch one release file; disk errors become one message naming the path."""
    try:
        if release_file.name.endswith(".zip"):
            return _fetch_zip(job, release_file, skip_existing)
        target = job.folder / release_file.name
        if skip_existing and _matches(target, release_file):
            return FetchedFile(release_file.name, target, "kept")
        _download(job, release_file, target)
        return FetchedFile(release_file.name, target, "downloaded")
    except OSError as exc:
        raise _disk_error(exc, job.folder) from exc


def _fetch_zip(job: _Job, release_file: ReleaseFile, skip_existing: bool) -> FetchedFile:
    """Fetch a patients zip and unpack its CSV; the zip is removed once the CSV is in place.

    With ``skip_existing``, a CSV already there is kept, and a verified zip left over from an
    interrupted run is unpacked instead of downloaded again.
    """
    csv_path = job.folder / local_name(release_file.name)
    if skip_existing and csv_path.is_file():
        return FetchedFile(release_file.name, csv_path, "kept")
    archive = job.folder / release_file.name
    action: Action = "extracted"
    if not (skip_existing and _matches(archive, release_file)):
        _download(job, release_file, archive)
        action = "downloaded"
    _extract_csv(archive, csv_path)
    archive.unlink()
    return FetchedFile(release_file.name, csv_path, action)


def _matches(path: Path, release_file: ReleaseFile) -> bool:
    """Whether a local file is the published one: same size (cheap) and same MD5."""
    if not path.is_file() or path.stat().st_size != release_file.size:
        return False
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest() == release_file.computed_md5.lower()


def _download(job: _Job, release_file: ReleaseFile, target: Path) -> None:
    """Stream to ``<target>.partial``, verify the MD5, then rename: never a half file."""
    partial = target.with_name(target.name + ".partial")
    url = release_file.download_url
    try:
        md5 = _with_retry(job, url, lambda: _stream_to(job, release_file, partial))
        if md5 != release_file.computed_md5.lower():
            raise FetchError(
                f"{release_file.name} from {url} has MD5 {md5}, expected "
                f"{release_file.computed_md5}: the download is corrupt, nothing was kept. "
                f"Run the command again, or copy the file by hand into {job.folder}."
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _stream_to(job: _Job, release_file: ReleaseFile, partial: Path) -> str:
    """One download attempt, from byte 0; returns the MD5 of what was written."""
    digest = hashlib.md5(usedforsecurity=False)
    with job.client.stream("GET", release_file.download_url) as response:
        _raise_for_status(response, job.folder)
        with partial.open("wb") as out, _progress_bar(release_file, job.progress) as bar:
            for chunk in response.iter_bytes(_CHUNK_BYTES):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    return digest.hexdigest()


def _progress_bar(release_file: ReleaseFile, enabled: bool) -> tqdm[NoReturn]:
    """A byte progress bar on stderr, updated by hand (hence no item type).

    ``disable=None`` lets tqdm hide it when stderr is not a terminal (CI logs, tests).
    """
    return tqdm(
        total=release_file.size or None,
        desc=release_file.name,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=None if enabled else True,
    )


def _extract_csv(archive: Path, csv_path: Path) -> None:
    """Unpack the archive's one CSV to ``csv_path``, atomically like a download."""
    partial = csv_path.with_name(csv_path.name + ".partial")
    try:
        with zipfile.ZipFile(archive) as bundle:
            member = _csv_member(bundle, archive, csv_path.stem)
            with bundle.open(member) as source, partial.open("wb") as out:
                shutil.copyfileobj(source, out, _CHUNK_BYTES)
        partial.replace(csv_path)
    except zipfile.BadZipFile as exc:
        archive.unlink(missing_ok=True)
        raise FetchError(
            f"{archive} is not a valid zip ({exc}); it was removed. Run the command again."
        ) from exc
    finally:
        partial.unlink(missing_ok=True)


def _csv_member(bundle: zipfile.ZipFile, archive: Path, base: str) -> zipfile.ZipInfo:
    """The CSV inside a patients zip: named ``<base>`` or ``<base>.csv``, else the only file."""
    files = [
        info
        for info in bundle.infolist()
        if not info.is_dir() and not info.filename.startswith("__MACOSX/")
    ]
    named = [info for info in files if PurePosixPath(info.filename).name in {base, f"{base}.csv"}]
    if len(named) == 1:
        return named[0]
    if len(files) == 1:
        return files[0]
    listing = ", ".join(info.filename for info in files) or "nothing"
    raise FetchError(f"{archive} should hold one CSV named {base}.csv; it holds {listing}.")


# --- HTTP errors and retries -------------------------------------------------------------------


def _raise_for_status(response: httpx.Response, folder: Path) -> None:
    """5xx is retried (a busy server); 4xx is final and names the URL."""
    status = response.status_code
    if status >= 500:
        raise _ServerError(status, response.reason_phrase)
    if status >= 400:
        raise FetchError(
            f"{response.request.url} returned HTTP {status} {response.reason_phrase}. "
            "Check DDX_FIGSHARE_API (default https://api.figshare.com/v2), or copy the files "
            f"by hand into {folder}."
        )


def _with_retry(job: _Job, url: str, attempt: Callable[[], T]) -> T:
    """Run ``attempt``, retrying connection errors and 5xx a bounded number of times."""
    policy = job.retry
    last: Exception | None = None
    for number in range(1, max(policy.attempts, 1) + 1):
        try:
            return attempt()
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FetchError(
                f"{url} is not a valid http(s) URL ({exc}). Check DDX_FIGSHARE_API."
            ) from exc
        except (httpx.TransportError, _ServerError) as exc:
            last = exc
            if number < policy.attempts:
                time.sleep(policy.backoff_s * 2 ** (number - 1))
    assert last is not None  # the loop ran at least once and every pass failed
    raise _network_error(url, last, job) from last


def _network_error(url: str, exc: Exception, job: _Job) -> FetchError:
    """The message once retries run out: offline, timed out, or the server kept failing."""
    manual = (
        f"Copy the DDXPlus release files by hand into {job.folder} (see data/README.md), "
        "or point --data-dir / DDX_DATA_DIR at a folder that already has them."
    )
    tries = f"after {job.retry.attempts} attempts"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return FetchError(f"Cannot connect to {url} ({exc}): this machine seems offline. {manual}")
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"{url} timed out {tries}; the network is slow or offline. {manual}")
    if isinstance(exc, _ServerError):
        return FetchError(f"{url} returned {exc} {tries}; try again later. {manual}")
    return FetchError(f"Downloading {url} failed {tries} ({exc}). {manual}")


def _disk_error(exc: OSError, folder: Path) -> FetchError:
    """A local write failed (read-only, not a folder, disk full): name the path and the fix."""
    path = exc.filename or folder
    reason = exc.strerror or str(exc)
    return FetchError(
        f"Cannot write to {path}: {reason}. Free some space, or choose a writable folder with "
        "--data-dir or DDX_DATA_DIR."
    )
