"""One TLS context for every httpx client the tests make.

`httpx.get(...)` builds a client, and each client loads certifi's CA bundle into a new
`ssl.SSLContext`: ~45 ms of CPU per call, for requests that go to plain-HTTP servers on
127.0.0.1. The tests poll jobs and probe servers with such calls thousands of times, which
cost minutes of CI time on two cores. The default context (verify on, no client cert) is
made once and shared; an SSLContext may be shared by any number of connections. Other
arguments still get a context of their own.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx._transports.default as transports

_create = transports.create_ssl_context


@functools.cache
def _default_context() -> ssl.SSLContext:
    return _create()


def _shared_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
    if verify is True and cert is None and trust_env:
        return _default_context()
    return _create(verify=verify, cert=cert, trust_env=trust_env)


def install() -> None:
    transports.create_ssl_context = _shared_ssl_context
