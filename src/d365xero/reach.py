"""What a request that got no answer says about the URL it went to.

httpx, requests (msal) and urllib3 (xero-python) each wrap the socket or TLS error their own way;
the cause is found by walking the exception chain, so every client reports the same three cases
with the URL in the message: the certificate is not trusted (retrying will not help), the name
does not resolve or nothing listens (connection refused), or nothing answered in time.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from d365xero.errors import ConfigurationError, D365XeroError, TransientError

CA_HINT = (
    "if it is signed by your own certificate authority (an on-premises Dynamics, the emulators' "
    "local CA), name that CA's PEM file in D365XERO_CA_BUNDLE"
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception it wraps (causes, contexts, and urllib3's `reason`)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [a for a in current.args if isinstance(a, BaseException)]
        todo += [e for e in linked if isinstance(e, BaseException)]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def _certificate_problem(exc: BaseException) -> str | None:
    for error in _chain(exc):
        if isinstance(error, ssl.SSLCertVerificationError):
            return str(error.verify_message or "certificate verify failed")
    for error in _chain(exc):
        text = str(error)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            reason = text.split("certificate verify failed:", 1)[-1]
            return reason.strip().strip("()'\"").strip() or text
    return None


def _why_unanswered(exc: BaseException, url: str) -> str:
    chain = list(_chain(exc))
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, socket.gaierror) for e in chain) or "name or service not known" in text:
        return f"the name {urlsplit(url).hostname} does not resolve (DNS)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return "connection refused"
    if any(isinstance(e, TimeoutError) for e in chain) or any("Timeout" in n for n in names):
        return "it timed out"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}{': ' + first if first else ''}"


def transport_failure(exc: BaseException, url: str, service: str) -> D365XeroError:
    """The connector's error for a request to `url` that failed before any HTTP answer:
    ConfigurationError for an untrusted certificate, TransientError when nothing answered."""
    problem = _certificate_problem(exc)
    if problem is not None:
        return ConfigurationError(
            f"the TLS certificate of {_origin(url)} is not trusted ({problem}); {CA_HINT}"
        )
    return TransientError(
        f"nothing answers at {url}: {_why_unanswered(exc, url)}; check the URL and that the "
        "service is running and reachable from here",
        service=service,
    )
