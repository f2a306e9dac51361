"""Security headers on every answer of the app. The policy allows scripts, styles and images
from this site only (HTMX is served from /static, no inline script or style anywhere), forms
that post here or to the identity servers the OAuth flows go to, and no framing."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(form_targets: Iterable[str] = ()) -> str:
    form_action = " ".join(["'self'", *sorted(set(form_targets))])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


class SecurityHeaders:
    """Pure ASGI (no BaseHTTPMiddleware): it only adds headers, so streaming answers stay
    streams. `form_targets` are origins a form may post to (an OAuth authorize endpoint)."""

    def __init__(self, app: ASGIApp, form_targets: Iterable[str] = ()) -> None:
        self.app = app
        self.csp = content_security_policy(form_targets).encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in self._headers(tls):
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)

    def _headers(self, tls: bool) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-security-policy", self.csp),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            # An OAuth callback's ?code= must never leave in a Referer to another site.
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if tls:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        return headers
