"""The comments API of an MR (GitLab's notes) or a PR (GitHub's issue comments), in memory:
the one seam a test cannot reach for real. It serves both providers' paths alike."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testing.registry import free_port


class CommentsApi:
    """List, create and edit comments; every call kept as (method, path, credential header)."""

    def __init__(self) -> None:
        self.comments: dict[int, str] = {}
        self.calls: list[tuple[str, str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, data: Any) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> str:
                return str(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["body"])

            def _called(self) -> None:
                # GitHub sends "Authorization: Bearer ...", GitLab "PRIVATE-TOKEN: ...".
                token = self.headers.get("Authorization") or self.headers.get("PRIVATE-TOKEN") or ""
                api.calls.append((self.command, self.path, token))

            def do_GET(self) -> None:
                self._called()
                self._reply(200, [{"id": i, "body": b} for i, b in api.comments.items()])

            def do_POST(self) -> None:
                self._called()
                new_id = len(api.comments) + 1
                api.comments[new_id] = self._body()
                self._reply(201, {"id": new_id})

            def do_PATCH(self) -> None:  # GitHub edits with PATCH, GitLab with PUT
                self._called()
                api.comments[int(self.path.rsplit("/", 1)[1])] = self._body()
                self._reply(200, {})

            do_PUT = do_PATCH

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
