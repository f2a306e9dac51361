"""The portal's field-mapping editor over domain.fieldmap: one row per Xero field a mapping may
fill (which Dynamics column fills it, or none), and rows of Xero tracking categories filled from
a line column. A form is checked row by row, with a message for the row it is about.

Form fields: `from_<n>` for the n-th of fieldmap.TARGETS ("table.column", e.g.
"account.accountnumber"); `track_name_<n>` and `track_from_<n>` for the tracking rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from d365xero.domain.fieldmap import (
    SOURCES,
    TARGETS,
    TRACKING,
    FieldMapping,
    FieldRule,
    column_problem,
)

MIN_TRACKING_ROWS = 2  # Xero has up to two tracking categories


@dataclass(frozen=True)
class TargetRow:
    field: str  # the form field's name
    target: str  # the Xero field
    sources: tuple[str, ...]  # the tables it may come from


TARGET_ROWS = tuple(
    TargetRow(f"from_{n}", target, sources) for n, (target, sources) in enumerate(TARGETS.items())
)


def tracking_rows(mapping: FieldMapping, form: Mapping[str, str] | None = None) -> int:
    """How many tracking rows the editor shows: each mapped category, one empty, at least 2."""
    used = sum(1 for r in mapping.rules if r.tracking_category)
    sent = sum(1 for name in (form or {}) if name.startswith("track_name_"))
    return max(MIN_TRACKING_ROWS, used + 1, sent)


def to_form(mapping: FieldMapping) -> dict[str, str]:
    """The editor's fields showing `mapping`."""
    form: dict[str, str] = {}
    by_target = {r.target: r for r in mapping.rules}
    for row in TARGET_ROWS:
        rule = by_target.get(row.target)
        form[row.field] = f"{rule.source}.{rule.column}" if rule else ""
    tracked = [r for r in mapping.rules if r.tracking_category]
    for n, rule in enumerate(tracked):
        form[f"track_name_{n}"] = rule.tracking_category or ""
        form[f"track_from_{n}"] = f"{rule.source}.{rule.column}"
    return form


def from_form(
    form: Mapping[str, str], columns: Mapping[str, Mapping[str, str]], rows: int
) -> tuple[FieldMapping, dict[str, str]]:
    """(the mapping the form says, the errors by form field). `columns`: table -> column ->
    Dataverse AttributeType, for the tables of fieldmap.SOURCES."""
    rules: list[FieldRule] = []
    errors: dict[str, str] = {}
    for row in TARGET_ROWS:
        text = form.get(row.field, "").strip()
        if text:
            _add(rules, errors, row.field, text, row.target, row.sources, columns)
    seen: set[str] = set()
    for n in range(rows):
        name_field, from_field = f"track_name_{n}", f"track_from_{n}"
        category, text = form.get(name_field, "").strip(), form.get(from_field, "").strip()
        if not category and not text:
            continue
        if not category:
            errors[name_field] = "Name the Xero tracking category this column fills."
            continue
        if not text:
            errors[from_field] = f'Choose the line column that fills "{category[:50]}".'
            continue
        if category.lower() in seen:
            errors[name_field] = f'The tracking category "{category[:50]}" is mapped twice.'
            continue
        seen.add(category.lower())
        _add(rules, errors, from_field, text, TRACKING + category, ("line",), columns)
    return FieldMapping(tuple(rules)), errors


def _add(
    rules: list[FieldRule],
    errors: dict[str, str],
    field: str,
    text: str,
    target: str,
    sources: tuple[str, ...],
    columns: Mapping[str, Mapping[str, str]],
) -> None:
    source, _, column = text.partition(".")
    source, column = source.strip().lower(), column.strip().lower()
    if source not in SOURCES or not column:
        tables = " or ".join(sources)
        errors[field] = (
            f"Give a Dynamics field as table.column, the table {tables} (e.g. {sources[0]}.name)."
        )
        return
    if source not in sources:
        errors[field] = f"{target} can only come from {' or '.join(sources)} fields, not {source}."
        return
    rule = FieldRule(source, column, target)
    problem = column_problem(rule, columns)
    if problem:
        errors[field] = problem[0].upper() + problem[1:]
        return
    rules.append(rule)
