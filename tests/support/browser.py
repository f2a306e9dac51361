"""What the browser tests share: Debian's chromium as Playwright launches it on a closed network,
axe-core's check of a page, and the screenshots kept as test artifacts.

Playwright (the pip package) drives /usr/bin/chromium, both installed by `make install-test`;
`playwright install` is never used, since its browser download cannot reach a closed network.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_pem_x509_certificate

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("D365XERO_TEST_CHROMIUM", "/usr/bin/chromium"))
AXE_JS = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"

# Chromium on a closed network: without the background-networking flags it keeps trying to reach
# Google's hosts (component updates, sync, QUIC probes) and its connections are refused.
CLOSED_NETWORK_FLAGS = [
    "--headless",
    "--no-sandbox",  # root on the test machines, where chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

FAILING_IMPACTS = ("serious", "critical")


def missing_browser_parts() -> str | None:
    """Why the browser tests cannot run here (None when chromium and axe-core are installed)."""
    missing = [str(p) for p in (CHROMIUM, AXE_JS) if not p.exists()]
    if missing:
        return f"{' and '.join(missing)} missing: run `make install-test`"
    return None


def require_browser_parts() -> None:
    """Skip without chromium or axe-core, except under CI=true, where their absence fails."""
    problem = missing_browser_parts()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests are required under CI=true: {problem}")
    pytest.skip(problem)


def spki_hash(cert_pem: bytes) -> str:
    """The base64 SHA-256 of a certificate's public key, as --ignore-certificate-errors-spki-list
    takes it: chromium then trusts exactly the emulators' certificates, and no others."""
    cert = load_pem_x509_certificate(cert_pem)
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


# --- axe-core -----------------------------------------------------------------------------------


def _describe(violation: dict[str, Any]) -> str:
    nodes = violation.get("nodes", [])
    lines = [
        f"- {violation['id']} ({violation.get('impact')}): {violation.get('help')}"
        f" [{len(nodes)} element(s)] {violation.get('helpUrl', '')}"
    ]
    for node in nodes[:5]:
        target = " ".join(str(t) for t in node.get("target", []))
        lines.append(f"    {target}: {node.get('html', '')[:160]}")
        summary = (node.get("failureSummary") or "").replace("\n", " ")
        if summary:
            lines.append(f"      {summary[:240]}")
    return "\n".join(lines)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it is now. axe.min.js is evaluated through the
    DevTools protocol, which the page's CSP (no inline scripts) does not govern, so the page is
    checked under the very policy its users get."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})"
    )
    return list(result["violations"])


def check_axe(page: Any) -> list[dict[str, Any]]:
    """Fails the test on any serious or critical axe-core violation, listing each with the
    elements it was found on; returns the minor and moderate ones for the caller to look at."""
    violations = axe_violations(page)
    failing = [v for v in violations if v.get("impact") in FAILING_IMPACTS]
    if failing:
        report = "\n".join(_describe(v) for v in failing)
        pytest.fail(f"axe-core: {len(failing)} serious or critical on {page.url}:\n{report}")
    return [v for v in violations if v.get("impact") not in FAILING_IMPACTS]


# --- screenshots --------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "page"


@dataclass
class Screenshots:
    """Each page's PNG kept under tests/browser/artifacts/<test>/ (gitignored), numbered in the
    order taken; the path is printed so a failed run's log points at them."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Any, name: str, *, full_page: bool = True) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.taken) + 1:02d}-{_slug(name)}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        print(f"screenshot: {path}")
        return path

    @classmethod
    def for_test(cls, nodeid: str) -> Screenshots:
        name = _slug(nodeid.split("::", 1)[-1])
        folder = ARTIFACTS / name
        for old in folder.glob("*.png"):  # a rerun replaces the previous run's pictures
            old.unlink()
        return cls(folder)
