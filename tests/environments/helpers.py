"""What the packed-environment tests share: the local http and S3 servers they fetch from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HTTP_USER, HTTP_PASSWORD = "reader", "s3cret"
S3_CONN_ID = "env_store"
S3_BUCKET = "conda-envs"


@dataclass
class HttpServer:
    url: str
    root: Path
    requests: list[tuple[str, str]] = field(default_factory=list)

    def gets(self, path: str) -> int:
        """How many GET requests asked for ``path``."""
        return self.requests.count(("GET", path))


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    client: object
    bucket: str = S3_BUCKET

    def put(self, key: str, body: bytes) -> str:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"
