"""Remote inputs through real servers on 127.0.0.1: HTTP with Range, and moto's S3 server, with
injected 503/429/SlowDown answers and connections dropped mid-body."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import threading

import pytest

from leakwatch.sources import (
    BLOCK,
    FetchOptions,
    PermanentError,
    RetriesExhausted,
    open_input,
    open_ranged,
    read_lines,
    s3_client,
)
from leakwatch.udfs.ingest import FileIngest, IngestOptions
from tests.servers import Faults, FaultyProxy, StaticServer, self_signed_cert
from tests.warcs import english_page, write_pages

CRAWL = "CC-MAIN-2024-10"
FAST = {"backoff_base": 0.01, "backoff_max": 0.05, "read_timeout": 10}


@pytest.fixture
def warc_dir(tmp_path):
    write_pages(tmp_path / f"{CRAWL}-a.warc.gz", CRAWL, [english_page(i) for i in range(8)])
    (tmp_path / "warc.paths.gz").write_bytes(gzip.compress(f"{CRAWL}-a.warc.gz\n\n".encode()))
    return tmp_path


def test_http_read_survives_errors_and_dropped_connections(warc_dir):
    expected = (warc_dir / f"{CRAWL}-a.warc.gz").read_bytes()
    faults = Faults(errors=[503, 429], cut_bodies=2, cut_at=1500)
    with StaticServer(str(warc_dir), faults) as server:
        reader = open_input(server.url + f"{CRAWL}-a.warc.gz", FetchOptions(**FAST))
        data = reader.read()
        reader.close()
    assert data == expected
    # 503, 429, then two bodies cut short and resumed with Range requests, then the rest.
    assert reader.attempts == 5 and len(reader.retry_log) == 4
    assert faults.injected == 4


def test_http_ingest_equals_local_ingest_under_faults(warc_dir):
    local = FileIngest(str(warc_dir / f"{CRAWL}-a.warc.gz"), None, "r", IngestOptions())
    local_docs = list(local.documents())
    with StaticServer(str(warc_dir), Faults(errors=[500], cut_bodies=1, cut_at=4000)) as server:
        remote = FileIngest(server.url + f"{CRAWL}-a.warc.gz", None, "r", IngestOptions(**FAST))
        remote_docs = list(remote.documents())
    assert remote.report.status == "ok" and remote.report.attempts == 3
    assert [d["text"] for d in remote_docs] == [d["text"] for d in local_docs]
    assert [d["doc_id"] for d in remote_docs] == [d["doc_id"] for d in local_docs]
    assert remote.report.bytes_read == (warc_dir / f"{CRAWL}-a.warc.gz").stat().st_size


def test_http_missing_file_fails_at_once_and_exhausted_retries_fail(warc_dir):
    with StaticServer(str(warc_dir)) as server:
        with pytest.raises(PermanentError, match="404"):
            open_input(server.url + "missing.warc.gz", FetchOptions(**FAST))
        run = FileIngest(server.url + "missing.warc.gz", CRAWL, "r", IngestOptions(**FAST))
        assert list(run.documents()) == [] and run.report.status == "failed"
    with (
        StaticServer(str(warc_dir), Faults(errors=[503] * 10)) as server,
        pytest.raises(RetriesExhausted, match="gave up after 3 attempts"),
    ):
        open_input(server.url + f"{CRAWL}-a.warc.gz", FetchOptions(retries=2, **FAST))


def test_https_with_a_trusted_certificate(warc_dir, tmp_path, monkeypatch):
    cert, key = self_signed_cert(tmp_path)
    with StaticServer(str(warc_dir), Faults(cut_bodies=1, cut_at=3000), tls=(cert, key)) as server:
        url = server.url + f"{CRAWL}-a.warc.gz"
        # Not trusted yet: a certificate error is not retried as if it were a network blip.
        with pytest.raises(PermanentError, match="CERTIFICATE_VERIFY_FAILED"):
            open_input(url, FetchOptions(**FAST))
        assert server.faults.requests == 0  # the handshake failed: no request was made
        monkeypatch.setenv("SSL_CERT_FILE", cert)
        run = FileIngest(url, None, "r", IngestOptions(**FAST))
        docs = list(run.documents())
    assert run.report.status == "ok" and len(docs) == 8 and run.report.attempts == 2


def test_manifest_over_http(warc_dir):
    with StaticServer(str(warc_dir)) as server:
        assert read_lines(server.url + "warc.paths.gz", FetchOptions(**FAST)) == [f"{CRAWL}-a.warc.gz"]


@pytest.fixture
def s3(monkeypatch, warc_dir):
    """moto's S3 server on 127.0.0.1 with a bucket holding a WARC and a manifest."""
    from moto.server import ThreadedMotoServer

    # Hermetic credentials: none from the machine, and no instance-metadata lookups off loopback.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(warc_dir / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(warc_dir / "no-credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3_client.cache_clear()
    client = s3_client(f"http://{host}:{port}", "no", 1, 5, 10)
    client.create_bucket(Bucket="crawl")
    # Public read, like the commoncrawl bucket: unsigned GETs are allowed, nothing else.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::crawl/*"}
        ],
    }
    client.put_bucket_policy(Bucket="crawl", Policy=json.dumps(policy))
    key = f"crawl-data/{CRAWL}/segments/1/warc/{CRAWL}-a.warc.gz"
    client.put_object(Bucket="crawl", Key=key, Body=(warc_dir / f"{CRAWL}-a.warc.gz").read_bytes())
    client.put_object(Bucket="crawl", Key=f"crawl-data/{CRAWL}/warc.paths.gz", Body=gzip.compress(f"{key}\n".encode()))
    yield {"port": port, "endpoint": f"http://{host}:{port}", "key": key}
    s3_client.cache_clear()
    server.stop()


def test_s3_signed_and_anonymous_reads(s3, warc_dir, monkeypatch):
    expected = (warc_dir / f"{CRAWL}-a.warc.gz").read_bytes()
    signed = open_input(
        f"s3://crawl/{s3['key']}", FetchOptions(s3_endpoint_url=s3["endpoint"], s3_anonymous="no", **FAST)
    )
    assert signed.read() == expected
    # With no credentials configured, `auto` sends unsigned requests, as for the public bucket.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    s3_client.cache_clear()
    anonymous = open_input(f"s3://crawl/{s3['key']}", FetchOptions(s3_endpoint_url=s3["endpoint"], **FAST))
    assert anonymous.read() == expected
    manifest = read_lines(f"s3://crawl/crawl-data/{CRAWL}/warc.paths.gz", FetchOptions(s3_endpoint_url=s3["endpoint"]))
    assert manifest == [s3["key"]]
    with pytest.raises(PermanentError, match="NoSuchKey"):
        open_input("s3://crawl/nope.warc.gz", FetchOptions(s3_endpoint_url=s3["endpoint"], **FAST))


def test_s3_survives_slowdown_and_dropped_connections(s3):
    faults = Faults(errors=[503, 503], cut_bodies=1, cut_at=2000)
    with FaultyProxy(s3["port"], faults) as proxy:
        options = IngestOptions(s3_endpoint_url=proxy.url, s3_anonymous="no", **FAST)
        run = FileIngest(f"s3://crawl/{s3['key']}", None, "r", options)
        docs = list(run.documents())
    assert run.report.status == "ok" and len(docs) == 8
    # botocore retried the two SlowDowns itself (counted from RetryAttempts); we resumed the cut body.
    assert run.report.attempts == 4 and faults.injected == 3


@pytest.fixture
def blob(tmp_path):
    """A 1 MB file of random bytes (nothing compresses or repeats)."""
    (tmp_path / "blob").write_bytes(os.urandom(1_000_000))
    return tmp_path / "blob"


def _slices(reader, data: bytes) -> None:
    """Reads the way pyarrow reads a parquet file (the end, then pieces here and there) equal the bytes."""
    assert reader.size == len(data) and reader.seek(-8, 2) == len(data) - 8 and reader.read(8) == data[-8:]
    for offset, size in ((70_000, 10), (70_010, 500), (1000, 3), (150_000, 2 * BLOCK), (len(data) - 5, 100)):
        reader.seek(offset)
        assert reader.read(size) == data[offset : offset + size], (offset, size)


def test_ranged_reads_over_http_fetch_blocks_and_resume_cut_ranges(blob):
    data = blob.read_bytes()
    faults = Faults(errors=[503], cut_bodies=2, cut_at=1000)
    with StaticServer(str(blob.parent), faults) as server:
        reader = open_ranged(server.url + "blob", FetchOptions(**FAST))
        _slices(reader, data)
        requests = reader.requests
        reader.seek(70_100)
        assert reader.read(20) == data[70_100:70_120] and reader.requests == requests  # a kept block
    assert faults.injected == 3 and reader.attempts == reader.requests + 3
    # Only the blocks read and the one big read were fetched, not the file.
    assert reader.bytes_read < len(data) / 2


def test_ranged_reads_from_local_files_and_moto_s3(blob, s3):
    data = blob.read_bytes()
    _slices(open_ranged(str(blob)), data)
    client = s3_client(s3["endpoint"], "no", 1, 5, 10)
    client.put_object(Bucket="crawl", Key="blob", Body=data)
    with FaultyProxy(s3["port"], Faults(cut_bodies=1, cut_at=500)) as proxy:
        _slices(open_ranged("s3://crawl/blob", FetchOptions(s3_endpoint_url=proxy.url, s3_anonymous="no", **FAST)),
                data)
    with pytest.raises(PermanentError, match="NoSuchKey"):
        open_ranged("s3://crawl/nope", FetchOptions(s3_endpoint_url=s3["endpoint"], s3_anonymous="no", **FAST))


def test_a_server_that_ignores_range_requests_is_refused_with_what_to_do(blob):
    handler = http.server.SimpleHTTPRequestHandler  # answers 200 with the whole file, whatever the Range
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(blob.parent)))
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    try:
        reader = open_ranged(f"http://127.0.0.1:{plain.server_address[1]}/blob", FetchOptions(**FAST))
        assert reader.read(100) == blob.read_bytes()[:100]  # the first block came with the size
        reader.seek(3 * BLOCK)
        with pytest.raises(PermanentError, match="ignores Range requests.*download it and give its local path"):
            reader.read(10)
    finally:
        plain.shutdown()
        plain.server_close()
