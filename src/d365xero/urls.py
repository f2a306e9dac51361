"""Which remote URLs the connector talks to: https anywhere, plain http only to this machine.

Client secrets go to Xero's identity server in a Basic header and to Entra ID in a form body, so a
plain-http URL would put them on the network in clear. Every URL that enters from outside (command
line flags, settings, a stored connection, the authority a Dataverse challenge names) passes
`remote_url` before anything is sent to it.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from d365xero.errors import ConfigurationError

_DEFAULT_PORTS = {"https": 443, "http": 80}
_WEB_API_PATH = re.compile(r"/api/data(/v\d+(\.\d+)?)?$", re.IGNORECASE)


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: traffic that never leaves this machine."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def remote_url(url: str, what: str) -> str:
    """`url` with its scheme and host in lower case, no default port and no trailing slash; a
    ConfigurationError saying why when it is not an https URL (or http to this machine)."""
    text = url.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise ConfigurationError(f"{what} must be an https:// URL, not {url!r}")
    if parts.username or parts.password:
        raise ConfigurationError(f"{what} must not carry a user name or password: {host}")
    if scheme == "http" and not is_loopback(host):
        raise ConfigurationError(
            f"{what} {text} is plain http, which would send the client secret unencrypted: "
            "use https:// (plain http is allowed only to this machine: localhost, 127.0.0.1, ::1)"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{what} has a port that is not a number: {url!r}") from exc
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def organisation_url(url: str) -> str:
    """A Dynamics organisation's URL in the form connections are stored and compared in: the
    policy's normal form, without a pasted Web API path (`.../api/data/v9.2`)."""
    return _WEB_API_PATH.sub("", remote_url(url, "the Dynamics URL"))
