"""Reading a solution zip, and refusing the ones d365xero must not use."""

from __future__ import annotations

import io
import zipfile

import pytest

from d365xero.errors import ConfigurationError
from d365xero.solution.build import build_solution
from d365xero.solution.reader import Refusal, SolutionRejected, read_solution


def _rewrite(data: bytes, name: str, change: bytes | None) -> bytes:
    """The zip with one member replaced by `change` (or removed when None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info))
            elif change is not None:
                dst.writestr(info, change)
    return out.getvalue()


def _edit(data: bytes, name: str, old: bytes, new: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = archive.read(name)
    assert old in text
    return _rewrite(data, name, text.replace(old, new))


def _refusal(data: bytes) -> SolutionRejected:
    with pytest.raises(SolutionRejected) as caught:
        read_solution(data)
    assert isinstance(caught.value, ConfigurationError)
    return caught.value


def test_reads_name_version_and_publisher() -> None:
    package = read_solution(build_solution("1.4.2.0"))
    assert (package.unique_name, package.version, package.major) == ("d365xero", "1.4.2.0", 1)
    assert (package.publisher_prefix, package.option_value_prefix) == ("dxc", 10000)
    assert package.package_version == "9.1"
    assert not package.managed
    assert {t.logical_name for t in package.tables} >= {"dxc_xerodetail", "dxc_synchistory"}


def test_refuses_what_is_not_a_zip() -> None:
    error = _refusal(b"%PDF-1.7 this is a pdf")
    assert error.reason is Refusal.NOT_A_ZIP
    assert "not a solution file" in str(error)


def test_refuses_a_truncated_zip() -> None:
    data = build_solution()
    error = _refusal(data[: len(data) // 2])
    assert error.reason in (Refusal.NOT_A_ZIP, Refusal.CORRUPT)


def test_refuses_a_zip_whose_contents_fail_their_checksum() -> None:
    data = bytearray(build_solution())
    start = data.find(b"customizations.xml") + 200  # inside that member's compressed bytes
    data[start : start + 8] = b"\x00" * 8
    assert _refusal(bytes(data)).reason is Refusal.CORRUPT


def test_refuses_a_zip_without_customizations() -> None:
    error = _refusal(_rewrite(build_solution(), "customizations.xml", None))
    assert error.reason is Refusal.CORRUPT
    assert "no customizations.xml" in str(error)


def test_refuses_xml_that_is_not_well_formed() -> None:
    error = _refusal(_rewrite(build_solution(), "solution.xml", b"<ImportExportXml><Solution"))
    assert error.reason is Refusal.CORRUPT
    assert "solution.xml is not well-formed" in str(error)


def test_refuses_another_solution() -> None:
    other = _edit(
        build_solution(), "solution.xml", b"<UniqueName>d365xero<", b"<UniqueName>Contoso<"
    )
    error = _refusal(other)
    assert error.reason is Refusal.NOT_OURS
    assert "'Contoso'" in str(error)


def test_refuses_another_publisher() -> None:
    other = _edit(
        build_solution(),
        "solution.xml",
        b"<CustomizationPrefix>dxc<",
        b"<CustomizationPrefix>stl3<",
    )
    assert _refusal(other).reason is Refusal.NOT_OURS


def test_refuses_a_newer_major_version_and_says_what_to_do() -> None:
    error = _refusal(build_solution("2.0.0.0"))
    assert error.reason is Refusal.TOO_NEW
    assert "2.0.0.0" in str(error) and "Upgrade d365xero" in str(error)


def test_accepts_a_newer_minor_version() -> None:
    assert read_solution(build_solution("1.9.0.0")).version == "1.9.0.0"


def test_refuses_a_malformed_version() -> None:
    bad = _edit(build_solution(), "solution.xml", b"<Version>1.0.0.0<", b"<Version>latest<")
    assert _refusal(bad).reason is Refusal.CORRUPT


def test_refuses_a_lookup_without_its_relationship() -> None:
    data = build_solution()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = archive.read("customizations.xml").decode()
    start = text.index("<EntityRelationships>")
    end = text.index("</EntityRelationships>") + len("</EntityRelationships>")
    broken = _rewrite(data, "customizations.xml", (text[:start] + text[end:]).encode())
    error = _refusal(broken)
    assert error.reason is Refusal.CORRUPT and "has no relationship" in str(error)
