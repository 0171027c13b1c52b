"""Robust parsing of the fact extractor's JSON answer: fences tolerated, bad items skipped."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, cast

from memory.records import FactKind
from persona.learning.prompts import FACT_KINDS

_log = logging.getLogger(__name__)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_NOT_NAME = re.compile(r"[^a-z0-9]+")
_MAX_STATEMENT_CHARS = 400
_MAX_TOLD = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractedFact:
    subject: str
    attribute: str
    value: str
    kind: FactKind
    confidence: float
    retracts: bool = False
    statement: str = ""  # the fact as one plain sentence, searchable in long-term memory


@dataclass(frozen=True, slots=True, kw_only=True)
class Extraction:
    facts: tuple[ExtractedFact, ...]
    dossier: str | None
    # What the assistant told, promised or recommended the user, one plain sentence each.
    told: tuple[str, ...] = ()


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text`, inside a code fence or bare; None when there is none."""
    fenced = _FENCE.search(text)
    candidate = fenced.group(1) if fenced else text
    start, end = candidate.find("{"), candidate.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        parsed = json.loads(candidate[start : end + 1])
    except json.JSONDecodeError:
        return None
    return cast("dict[str, Any]", parsed) if isinstance(parsed, dict) else None


def normalise_attribute(name: str) -> str:
    return _NOT_NAME.sub("_", name.strip().lower()).strip("_")


def _fact(item: object) -> ExtractedFact | None:
    if not isinstance(item, dict):
        return None
    attribute = normalise_attribute(str(item.get("attribute", "")))
    value = item.get("value")
    kind = str(item.get("kind", "")).strip().lower()
    if not attribute or not isinstance(value, str | int | float) or kind not in FACT_KINDS:
        return None
    try:
        confidence = float(item.get("confidence", 0.7))
    except (TypeError, ValueError):
        confidence = 0.7
    subject = str(item.get("subject") or "user").strip().lower() or "user"
    return ExtractedFact(
        subject=subject,
        attribute=attribute,
        value=str(value).strip(),
        kind=cast("FactKind", kind),
        confidence=min(max(confidence, 0.0), 1.0),
        retracts=item.get("retracts") is True,
        statement=_sentence(item.get("statement")),
    )


def _sentence(value: object) -> str:
    return " ".join(value.split())[:_MAX_STATEMENT_CHARS] if isinstance(value, str) else ""


def parse_extraction(text: str) -> Extraction | None:
    """The facts and revised dossier in a model answer; None when it is not usable JSON."""
    obj = _json_object(text)
    if obj is None:
        return None
    raw_facts = obj.get("facts")
    items = raw_facts if isinstance(raw_facts, list) else []
    facts = [f for f in (_fact(i) for i in items) if f is not None]
    if len(facts) < len(items):
        _log.info("skipped %s malformed extracted facts", len(items) - len(facts))
    dossier = obj.get("dossier")
    summary = dossier.strip() if isinstance(dossier, str) and dossier.strip() else None
    raw_told = obj.get("told")
    told = [t for t in (_sentence(i) for i in raw_told) if t] if isinstance(raw_told, list) else []
    return Extraction(
        facts=tuple(f for f in facts if f.value or f.retracts),
        dossier=summary,
        told=tuple(told[:_MAX_TOLD]),
    )
