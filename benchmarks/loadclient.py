"""A small HTTP/1.1 load client and process meters shared by the benchmarks.

The client keeps one keep-alive connection per request in flight and writes prebuilt request bytes,
so a request costs it a few tens of microseconds of CPU: far less than the server spends, which the
benchmarks show by printing the client's CPU time beside the server processes'.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    #: Every Set-Cookie header's value (`headers` keeps only the last header of a name).
    cookies: list[str] = field(default_factory=list)

    def json(self):
        return json.loads(self.body)


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read the whole answer."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> "Connection":
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        return self

    async def send(self, request: bytes) -> Reply:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        cookies = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
                if name.strip().lower() == "set-cookie":
                    cookies.append(value.strip())
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(part[:-2] for part in parts)
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            self.close()
            await self.open()
        return Reply(status, headers, body, cookies)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def request_bytes(method: str, path: str, *, host: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def post_json(path: str, payload: dict, *, host: str) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return request_bytes("POST", path, host=host, body=body,
                         headers={"Content-Type": "application/json", "Accept": "application/json"})


async def open_connections(host: str, port: int, count: int, *, at_once: int = 200) -> list[Connection]:
    gate = asyncio.Semaphore(at_once)

    async def one() -> Connection:
        async with gate:
            return await Connection(host, port).open()

    return list(await asyncio.gather(*(one() for _ in range(count))))


@dataclass
class RunResult:
    replies: list[Reply]
    latencies: list[float]
    elapsed: float
    client_cpu: float

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(int(len(ordered) * share) - 1, 0)]


async def run_all(connections: list[Connection], requests: list[bytes]) -> RunResult:
    """Send every request at once, each on its own connection (len(requests) <= len(connections))."""
    latencies: list[float] = [0.0] * len(requests)
    replies: list[Reply | None] = [None] * len(requests)

    async def one(index: int) -> None:
        began = time.perf_counter()
        replies[index] = await connections[index].send(requests[index])
        latencies[index] = time.perf_counter() - began

    cpu = time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(len(requests))))
    elapsed = time.perf_counter() - began
    return RunResult(replies, latencies, elapsed, time.process_time() - cpu)


async def run_for(connections: list[Connection], make_request, seconds: float) -> RunResult:
    """Each connection sends requests back to back for `seconds` (a closed loop, like wrk)."""
    latencies: list[float] = []
    replies: list[Reply] = []
    deadline = time.perf_counter() + seconds

    async def loop(connection: Connection) -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            reply = await connection.send(make_request())
            latencies.append(time.perf_counter() - began)
            replies.append(reply)

    cpu = time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in connections))
    elapsed = time.perf_counter() - began
    return RunResult(replies, latencies, elapsed, time.process_time() - cpu)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


# --- server processes ---------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


@dataclass
class ServerMeter:
    """CPU of a server's whole process tree between start() and stop()."""

    pid: int
    pids: list[int] = field(default_factory=list)
    began: float = 0.0
    used: float = 0.0

    #: CPU seconds of each process between start() and stop(): shows how evenly the work was shared
    each: dict[int, float] = field(default_factory=dict)

    def start(self) -> None:
        self.pids = self.pids or process_tree(self.pid)
        self.each = {pid: cpu_seconds([pid]) for pid in self.pids}
        self.began = sum(self.each.values())

    def stop(self) -> None:
        self.each = {pid: cpu_seconds([pid]) - began for pid, began in self.each.items()}
        self.used = sum(self.each.values())

    def app_processes(self) -> list[int]:
        """The processes that serve requests: the workers when there are any, else the server itself."""
        tree = process_tree(self.pid)
        workers = [pid for pid in tree[1:] if "resource_tracker" not in command_line(pid)
                   and "render" not in command_line(pid)]
        return workers or [self.pid]
