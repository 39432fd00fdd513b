"""Files for the printer: a CSV of code URLs and, optionally, a ZIP of QR SVGs.

Both stream: codes are computed serial by serial (nothing is stored per code), the CSV is
written as it goes, and the QR images are drawn by a process pool in bounded chunks whose
results are written to the ZIP in order, so memory stays flat for a million codes.
Workers receive the tenant's derived code key, never the master key.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import IO

from bot.membership.codes import sign, url

# segno picks the best of 8 masks by scoring each (~4x the work); any mask is valid per
# ISO/IEC 18004 and decoders read all of them, so a fixed one is used for speed.
DEFAULT_MASK = 4
PROGRESS_EVERY = 1000  # rows between progress callbacks of write_csv

# told the number of codes written so far (called from the writing thread)
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Job:
    key: bytes
    tenant_id: int
    batch_id: int
    base_url: str


def iter_codes(job: Job, start: int, count: int) -> Iterator[tuple[int, str]]:
    for serial in range(start, start + count):
        yield serial, sign(job.key, job.tenant_id, job.batch_id, serial)


def write_csv(out: IO[str], job: Job, start: int, count: int, *, progress: Progress | None = None) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["batch", "serial", "code", "url"])
    written = 0
    for serial, code in iter_codes(job, start, count):
        writer.writerow([job.batch_id, serial, code, url(job.base_url, code)])
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    if progress is not None:
        progress(written)
    return written


def render_chunk(job: Job, start: int, count: int, mask: int | None) -> list[tuple[str, bytes]]:
    """Worker side: the SVGs of serials [start, start + count)."""
    import segno

    out = []
    for serial, code in iter_codes(job, start, count):
        qr = segno.make(url(job.base_url, code), error="m", mask=mask, micro=False)
        buffer = io.BytesIO()
        qr.save(buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True)
        out.append((f"{job.batch_id:06d}-{serial:08d}.svg", buffer.getvalue()))
    return out


def write_zip(
    path: str,
    job: Job,
    start: int,
    count: int,
    *,
    workers: int = 2,
    chunk: int = 250,
    mask: int | None = DEFAULT_MASK,
    progress: Progress | None = None,
) -> int:
    written = 0
    pending: deque[Future[list[tuple[str, bytes]]]] = deque()
    with (
        ProcessPoolExecutor(max_workers=workers) as pool,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
    ):
        next_start, end = start, start + count

        def fill() -> None:
            nonlocal next_start
            while next_start < end and len(pending) < workers * 2:  # bounded: flat memory
                size = min(chunk, end - next_start)
                pending.append(pool.submit(render_chunk, job, next_start, size, mask))
                next_start += size

        fill()
        while pending:
            for name, svg in pending.popleft().result():
                archive.writestr(name, svg)
                written += 1
            if progress is not None:
                progress(written)
            fill()
    return written
