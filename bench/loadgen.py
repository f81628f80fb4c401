"""A minimal keep-alive HTTP/1.1 load generator over asyncio streams.

httpx or aiohttp would cost more CPU per request than the servers under test, and on a
2-core machine the generator shares the cores with them; raw streams keep it light.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def build_request(method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    port: int, requests: list[bytes], deadline: float, result: dict[str, list[float] | int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = result["lat"]  # type: ignore[assignment]
    i = 0
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            status = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            if status >= 400:
                result["errors"] = int(result["errors"]) + 1
            i += 1
    finally:
        writer.close()


async def run_load(
    port: int, requests: list[bytes], *, connections: int, seconds: float
) -> LoadResult:
    """Each connection cycles through `requests` (e.g. one per user) until the time is up."""
    result: dict[str, list[float] | int] = {"lat": [], "errors": 0}
    started = time.perf_counter()
    deadline = started + seconds
    per_conn = [requests[i::connections] or requests for i in range(connections)]
    await asyncio.gather(
        *(_connection(port, per_conn[i], deadline, result) for i in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies: list[float] = result["lat"]  # type: ignore[assignment]
    return LoadResult(len(latencies), int(result["errors"]), elapsed, latencies)
