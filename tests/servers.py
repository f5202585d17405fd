"""Real servers on 127.0.0.1 for tests: a static HTTP server with Range support and a faulty
proxy. Faults are injected per request: answer an HTTP error, or cut the body short and close."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import os
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Faults:
    """What the next requests get: `errors` status codes first, then `cut_after` bodies cut short."""

    errors: list[int] = field(default_factory=list)
    cut_bodies: int = 0
    cut_at: int = 1000
    requests: int = 0
    injected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self) -> tuple[str, int] | None:
        """('error', code), ('cut', byte) or None for the next request."""
        with self.lock:
            self.requests += 1
            if self.errors:
                self.injected += 1
                return "error", self.errors.pop(0)
            if self.cut_bodies:
                self.cut_bodies -= 1
                self.injected += 1
                return "cut", self.cut_at
            return None


_RANGE = re.compile(r"bytes=(\d+)-")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _send_fault_error(handler: http.server.BaseHTTPRequestHandler, code: int) -> None:
    body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    handler.send_response(code)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _send_body(handler, status: int, headers: list[tuple[str, str]], body: bytes, cut: int | None) -> None:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()
    if cut is not None and cut < len(body):
        # Promise the whole body, send part of it, then drop the connection.
        handler.wfile.write(body[:cut])
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(2)
        return
    handler.wfile.write(body)


def self_signed_cert(folder) -> tuple[str, str]:
    """A certificate and key for 127.0.0.1 (cert file doubles as the CA bundle clients trust)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_file, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_file, key_file


class StaticServer:
    """Serves files of a folder over HTTP(S) on 127.0.0.1 with Range requests and injected faults."""

    def __init__(self, root: str, faults: Faults | None = None, tls: tuple[str, str] | None = None):
        self.root = root
        self.scheme = "https" if tls else "http"
        self.faults = faults or Faults()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                fault = outer.faults.next_fault()
                if fault and fault[0] == "error":
                    return _send_fault_error(self, fault[1])
                path = os.path.join(outer.root, self.path.lstrip("/").split("?")[0])
                if not os.path.isfile(path):
                    self.send_error(404, "Not Found")
                    return
                with open(path, "rb") as fh:
                    data = fh.read()
                start = 0
                status = 200
                headers = [("Content-Type", "application/octet-stream")]
                match = _RANGE.match(self.headers.get("Range", ""))
                if match:
                    start = int(match.group(1))
                    status = 206
                    headers.append(("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"))
                body = data[start:]
                headers.append(("Content-Length", str(len(body))))
                _send_body(self, status, headers, body, fault[1] if fault else None)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, ending in a slash."""
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> StaticServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FaultyProxy:
    """Forwards requests to an upstream HTTP server (e.g. moto's S3), injecting faults first."""

    def __init__(self, upstream_port: int, faults: Faults | None = None):
        self.faults = faults or Faults()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else None
                fault = outer.faults.next_fault()
                if fault and fault[0] == "error":
                    return _send_fault_error(self, fault[1])
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=payload, headers=headers)
                response = conn.getresponse()
                body = response.read()
                conn.close()
                skip = {"transfer-encoding", "connection", "content-length"}
                out_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in skip]
                out_headers.append(("Content-Length", str(len(body))))
                cut = fault[1] if fault and self.command == "GET" else None
                _send_body(self, response.status, out_headers, body, cut)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Endpoint URL of the proxy."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FaultyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def moto_s3(monkeypatch, tmp_path, bucket: str) -> Iterator[dict]:
    """moto's S3 server on 127.0.0.1 with an empty bucket, hermetic credentials; yields port, endpoint, client."""
    from moto.server import ThreadedMotoServer

    from leakwatch.sources import s3_client

    # None of the machine's credentials, and no instance-metadata lookups off loopback.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (("AWS_EC2_METADATA_DISABLED", "true"), ("AWS_CONFIG_FILE", str(tmp_path / "no-config")),
                        ("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials")),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3_client.cache_clear()
    try:
        client = s3_client(f"http://{host}:{port}", "no", 1, 5, 10)
        client.create_bucket(Bucket=bucket)
        yield {"port": port, "endpoint": f"http://{host}:{port}", "client": client}
    finally:
        s3_client.cache_clear()
        server.stop()
