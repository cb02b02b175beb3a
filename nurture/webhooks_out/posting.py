"""One HTTP POST to an endpoint, reduced to what the delivery log keeps: a status code or a
short reason. Nothing here logs: the URL may carry a token and the body personal data."""

from __future__ import annotations

from dataclasses import dataclass

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

# An endpoint's answer is not read beyond this: only its status matters.
MAX_ANSWER = 64 * 1024

_pool = urllib3.PoolManager(num_pools=50, maxsize=8, retries=False)


@dataclass(frozen=True, slots=True)
class PostResult:
    status_code: int | None  # None: no HTTP answer at all
    error: str = ""  # why it failed, in a few words ("" when it did not)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST `body` to `url`; any 2xx is delivered, anything else (redirects too) is not."""
    try:
        response = _pool.request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=timeout),
            redirect=False,
            preload_content=False,
        )
    except NewConnectionError:  # before its base class, ConnectTimeoutError
        return PostResult(None, "could not connect")
    except (ConnectTimeoutError, ReadTimeoutError):
        return PostResult(None, f"no answer within {timeout:g} s")
    except SSLError:
        return PostResult(None, "TLS handshake failed")
    except ProtocolError:
        return PostResult(None, "the connection broke")
    except HTTPError as exc:
        return PostResult(None, type(exc).__name__)
    try:
        response.read(MAX_ANSWER)
    except HTTPError:
        pass  # the status line arrived, which is what counts
    finally:
        response.release_conn()
    code = response.status
    return PostResult(code, "" if 200 <= code < 300 else f"HTTP {code}")
