"""The TestHub's faults as the official client sees them: the 429 of the `ratelimit` fault carries
the Hub's `RateLimit` / `RateLimit-Policy` headers in the form `huggingface_hub` parses and
honours, and an expired signed URL is refused as S3 does.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from huggingface_hub.utils import http_backoff, parse_ratelimit_headers

PROXY_VARS = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]


@pytest.fixture
def clean_hub(hub, monkeypatch):
    """The hub with no fault before and after the test; no proxy between us and it."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    hub.reset()
    yield hub
    hub.reset()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str):
    """GET `url` without following redirects nor using a proxy: (status, headers, body)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        with opener.open(url, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_rate_limit_headers_are_what_the_official_parser_reads(clean_hub):
    url = f"{clean_hub.endpoint}/acme/tiny-model/resolve/main/config.json"
    clean_hub.faults(ratelimit={"reset_secs": 30, "count": 2, "path_contains": "/resolve/"})
    status, headers, _ = _get(url)
    assert status == 429
    info = parse_ratelimit_headers(dict(headers.items()))
    assert info is not None, dict(headers.items())
    assert (info.resource_type, info.remaining, info.limit, info.window_seconds) == ("resolvers", 0, 3000, 300)
    assert 29 <= info.reset_in_seconds <= 30

    status, headers, _ = _get(f"{clean_hub.endpoint}/api/models/acme/tiny-model")
    assert status == 200, "only resolve paths are limited"
    status, headers, _ = _get(url)
    info = parse_ratelimit_headers(dict(headers.items()))
    assert (status, info.resource_type) == (429, "resolvers")
    status, _, _ = _get(url)
    assert status == 200, "count ends the fault"


def test_the_official_backoff_waits_for_the_rate_limit_reset(clean_hub):
    url = f"{clean_hub.endpoint}/acme/tiny-model/resolve/main/config.json"
    clean_hub.faults(ratelimit={"reset_secs": 1, "count": 1})
    start = time.monotonic()
    response = http_backoff("GET", url, max_retries=2)
    waited = time.monotonic() - start
    assert response.status_code == 200
    # huggingface_hub sleeps t + 1 seconds when the RateLimit header says r=0.
    assert waited >= 1.5, f"it retried after {waited:.2f} s, not after the reset"


def test_an_expired_signed_url_is_refused_with_s3s_error(clean_hub):
    clean_hub.faults(expire_url={"lifetime_secs": 1})
    status, headers, _ = _get(f"{clean_hub.endpoint}/acme/tiny-model/resolve/main/weights.bin")
    assert status == 302
    location = headers["Location"]
    time.sleep(2.1)
    status, headers, body = _get(location)
    assert status == 403
    assert headers["Content-Type"] == "application/xml"
    assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in body
