"""A Hugging Face Hub stand-in on loopback, answering what huggingface_hub calls.

- HEAD/GET `/{owner}/{name}/resolve/{revision}/{file}`: `X-Repo-Commit`, `ETag` and
  `X-Linked-Etag` (the sha256, as for an LFS file), `X-Linked-Size`, `Accept-Ranges`;
  GET honours `Range: bytes=N-` with 206 and `Content-Range`.
- GET `/api/models?search=...`: the repositories whose id contains the search.
- GET `/api/models/{owner}/{name}[/revision/{rev}]`: the repository with its siblings
  (size, `lfs.sha256`) as `model_info(files_metadata=True)` reads them.

Faults, set on `HubServer.faults`: `drop_after` (bytes sent before the connection is cut,
once), `fail_status` (answer this status to the next N GETs of a file), `stall_s` (wait this
long before answering the next N GETs), `ignore_range`, `etag` (announce another sha256),
`rate` (bytes per second, for watching a download). `requests` lists (method, path, range).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Faults:
    drop_after: int | None = None
    fail_status: int = 0
    fail_count: int = 0
    stall_s: float = 0.0
    stall_count: int = 0
    ignore_range: bool = False
    etag: str | None = None
    rate: int | None = None


@dataclass
class HubServer:
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def add(self, repo: str, file: str, data: bytes) -> str:
        self.files[(repo, file)] = data
        return hashlib.sha256(data).hexdigest()

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> HubServer:
        hub = self

        class Handler(_Handler):
            owner = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def gets(self) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[0] == "GET" and "/resolve/" in r[1]]


class _Handler(BaseHTTPRequestHandler):
    owner: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _file(self) -> tuple[str, str, bytes] | None:
        path = unquote(urlsplit(self.path).path)
        parts = path.strip("/").split("/")
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, file = "/".join(parts[:2]), "/".join(parts[4:])
            data = self.owner.files.get((repo, file))
            if data is not None:
                return repo, file, data
        return None

    def _headers(self, data: bytes) -> None:
        sha = self.owner.faults.etag or hashlib.sha256(data).hexdigest()
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{sha}"')
        self.send_header("X-Linked-Etag", f'"{sha}"')
        self.send_header("X-Linked-Size", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")

    def do_HEAD(self) -> None:
        self.owner.requests.append(("HEAD", self.path, None))
        found = self._file()
        if found is None:
            self._send_json(404, {"error": "Entry not found"}, head=True)
            return
        self.send_response(200)
        self._headers(found[2])
        self.send_header("Content-Length", str(len(found[2])))
        self.end_headers()

    def do_GET(self) -> None:
        wanted = self.headers.get("Range")
        self.owner.requests.append(("GET", self.path, wanted))
        url = urlsplit(self.path)
        if url.path.startswith("/api/models"):
            self._api(url.path, parse_qs(url.query))
            return
        found = self._file()
        if found is None:
            self._send_json(404, {"error": "Entry not found"})
            return
        faults = self.owner.faults
        if faults.stall_count > 0:
            faults.stall_count -= 1
            time.sleep(faults.stall_s)
        if faults.fail_count > 0:
            faults.fail_count -= 1
            self._send_json(faults.fail_status, {"error": "server error"})
            return
        data = found[2]
        start = 0
        if wanted and wanted.startswith("bytes=") and not faults.ignore_range:
            start = int(wanted[6:].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self._headers(data)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if faults.drop_after is not None:
            cut, faults.drop_after = faults.drop_after, None
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        step = 64 * 1024
        for offset in range(0, len(body), step):
            try:
                self.wfile.write(body[offset : offset + step])
            except (BrokenPipeError, ConnectionResetError):
                return
            if faults.rate:
                time.sleep(step / faults.rate)

    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        parts = path.strip("/").split("/")
        repos = sorted({repo for repo, _ in self.owner.files})
        if len(parts) == 2:
            search = (query.get("search") or [""])[0].lower()
            found = [
                {"id": r, "downloads": 10, "tags": ["gguf"]} for r in repos if search in r.lower()
            ]
            self._send_json(200, found)
            return
        repo = "/".join(parts[2:4])
        if repo not in repos:
            self._send_json(404, {"error": "Repository not found"})
            return
        siblings = [
            {
                "rfilename": file,
                "size": len(data),
                "lfs": {
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "pointerSize": 130,
                },
            }
            for (r, file), data in self.owner.files.items()
            if r == repo
        ]
        self._send_json(200, {"id": repo, "sha": COMMIT, "siblings": siblings})

    def _send_json(self, status: int, body: object, head: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)


def write_catalogue(path: Path, entries: list[dict[str, object]]) -> Path:
    """A catalogue file in the shipped format, each entry completed with plausible fields."""
    base = {
        "quantization": "Q8_0",
        "parameters": 1_000_000,
        "size_exact": True,
        "licence": "Apache-2.0",
        "context_length": 256,
        "shape": {"n_layer": 2, "n_head_kv": 4, "head_dim": 16},
        "good_at": "Tests.",
    }
    models = [{**base, **entry} for entry in entries]
    path.write_text(json.dumps({"schema_version": 1, "models": models}, indent=2), encoding="utf-8")
    return path


TINY_REPO, TINY_FILE = "tester/Tiny-GGUF", "tiny-q8_0.gguf"


def serve_tiny_model(folder: Path, *more: dict[str, object]) -> tuple[HubServer, Path]:
    """A started Hub stand-in serving a tiny generated GGUF, and a catalogue whose entry
    "tiny" names it with its sha256 (then the entries `more`)."""
    from tests.tinymodels import write_tiny_llama_gguf  # the gguf package: tests only

    data = write_tiny_llama_gguf(folder / TINY_FILE).read_bytes()
    server = HubServer().start()
    sha = server.add(TINY_REPO, TINY_FILE, data)
    tiny = {"id": "tiny", "name": "Tiny", "repo": TINY_REPO, "file": TINY_FILE}
    tiny |= {"size_bytes": len(data), "sha256": sha}
    return server, write_catalogue(folder / "catalogue.json", [tiny, *more])
