"""Printing files from the console: a CSV of code URLs (and optionally a ZIP of QR SVGs) of a
serial range, written off the event loop by ``bot.membership.codegen`` (the same streaming writer
as ``jiubot codes generate``), with its progress in Redis for the page to poll, and the files kept
for the operator who asked (another operator, or another tenant, gets a 404).

A job is started by a form with a one-time token (claimed with the audit entry in one
transaction, so a double submit starts one job); the token is the job's id. Files live under
``export_dir/<tenant>/`` on this host and are pruned after ``KEEP_SECONDS``; the Redis record
expires then too. (Several hosts behind one balancer need a shared ``export_dir``.)"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from redis import asyncio as aioredis

from bot.membership import codegen
from bot.redis import Keys

log = structlog.get_logger(__name__)

KEEP_SECONDS = 24 * 3600
MAX_CSV = 200_000  # codes per console job (a print run is split into such files)
MAX_ZIP = 20_000  # QR images per console job (rendering is the slow part)
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    tenant_id: int
    operator_id: int
    batch_id: int
    start: int
    count: int
    with_zip: bool
    state: str  # running | done | failed
    csv_done: int
    zip_done: int

    @property
    def percent(self) -> int:
        total = self.count * (2 if self.with_zip else 1)
        done = self.csv_done + (self.zip_done if self.with_zip else 0)
        return 100 if self.state == "done" else min(99, done * 100 // max(total, 1))

    def as_json(self) -> dict[str, object]:
        return {
            "job": self.job_id,
            "state": self.state,
            "count": self.count,
            "csv_done": self.csv_done,
            "zip_done": self.zip_done,
            "zip": self.with_zip,
            "percent": self.percent,
        }


class CodegenJobs:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        export_dir: Path,
        *,
        zip_workers: int = 1,
        writer: Callable[..., None] | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.export_dir = export_dir
        self._zip_workers = zip_workers
        self._write = writer or write_files
        self._tasks: set[asyncio.Task[None]] = set()

    def _key(self, tenant_id: int, job_id: str) -> str:
        return self._keys("console", "codegen", tenant_id, job_id)

    def path(self, tenant_id: int, job_id: str, kind: str) -> Path:
        return self.export_dir / str(tenant_id) / f"{job_id}.{kind}"

    async def start(
        self, operator_id: int, job: codegen.Job, start: int, count: int, with_zip: bool, job_id: str
    ) -> None:
        """Record the job and run it in the background (the caller has claimed ``job_id``)."""
        key = self._key(job.tenant_id, job_id)
        await self._redis.hset(
            key,
            mapping={
                "operator": operator_id,
                "batch": job.batch_id,
                "start": start,
                "count": count,
                "zip": int(with_zip),
                "state": "running",
                "csv_done": 0,
                "zip_done": 0,
            },
        )
        await self._redis.expire(key, KEEP_SECONDS)
        task = asyncio.create_task(self._run(key, job, start, count, with_zip, job_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, key: str, job: codegen.Job, start: int, count: int, with_zip: bool, job_id: str
    ) -> None:
        done: dict[str, int] = {"csv_done": 0, "zip_done": 0}  # written by the thread, read here
        folder = self.export_dir / str(job.tenant_id)
        await asyncio.to_thread(_prepare, folder)
        paths = (
            self.path(job.tenant_id, job_id, "csv"),
            self.path(job.tenant_id, job_id, "zip") if with_zip else None,
        )
        work = asyncio.ensure_future(
            asyncio.to_thread(self._write, job, paths, start, count, done, self._zip_workers)
        )
        state = "failed"
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=POLL_SECONDS)
                await self._redis.hset(
                    key, mapping={"csv_done": done["csv_done"], "zip_done": done["zip_done"]}
                )
            work.result()
            state = "done"
        except Exception:
            log.exception("console_codegen_failed", job=job_id, batch=job.batch_id)
        finally:
            await self._redis.hset(
                key, mapping={"csv_done": done["csv_done"], "zip_done": done["zip_done"], "state": state}
            )
        log.info("console_codegen_finished", job=job_id, batch=job.batch_id, state=state, **done)

    async def status(self, tenant_id: int, operator_id: int, job_id: str) -> JobStatus | None:
        """The job if it exists in this tenant and belongs to ``operator_id``; else None."""
        if not job_id or len(job_id) > 64:
            return None
        raw = await self._redis.hgetall(self._key(tenant_id, job_id))
        if not raw:
            return None
        d = {_text(k): _text(v) for k, v in raw.items()}
        if int(d["operator"]) != operator_id:
            return None
        return JobStatus(
            job_id,
            tenant_id,
            operator_id,
            int(d["batch"]),
            int(d["start"]),
            int(d["count"]),
            d["zip"] == "1",
            d["state"],
            int(d["csv_done"]),
            int(d["zip_done"]),
        )

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Until every running job has finished (tests, shutdown)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _prepare(folder: Path) -> None:
    """Create the tenant's folder and drop files older than ``KEEP_SECONDS``."""
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEEP_SECONDS
    for entry in os.scandir(folder):
        if entry.is_file() and entry.stat().st_mtime < cutoff:
            Path(entry.path).unlink(missing_ok=True)


def write_files(
    job: codegen.Job,
    paths: tuple[Path, Path | None],
    start: int,
    count: int,
    done: dict[str, int],
    zip_workers: int,
) -> None:
    """Blocking: the CSV, then the ZIP; each written to a temporary name and renamed when
    complete, so a download never reads a half-written file."""
    csv_path, zip_path = paths

    def csv_progress(n: int) -> None:
        done["csv_done"] = n

    def zip_progress(n: int) -> None:
        done["zip_done"] = n

    partial = csv_path.with_suffix(".csv.part")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        codegen.write_csv(handle, job, start, count, progress=csv_progress)
    partial.replace(csv_path)
    if zip_path is not None:
        partial = zip_path.with_suffix(".zip.part")
        codegen.write_zip(str(partial), job, start, count, workers=zip_workers, progress=zip_progress)
        partial.replace(zip_path)
