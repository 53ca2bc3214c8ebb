"""JSON Schema of every event, envelope included, for consumers written in other languages."""

from __future__ import annotations

from typing import Any

from events.models import EVENT_TYPES


def event_schemas() -> dict[str, dict[str, Any]]:
    """detail-type → JSON Schema of the full EventBridge-shaped event carrying that detail."""
    return {
        name: _envelope_schema(name, model.model_json_schema(mode="serialization"))
        for name, model in EVENT_TYPES.items()
    }


def _envelope_schema(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    definitions = detail.pop("$defs", {})
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"stds/{detail_type}.json",
        "title": detail_type,
        "description": detail.get("description", ""),
        "type": "object",
        "required": ["version", "id", "detail-type", "source", "time", "detail"],
        "properties": {
            "version": {"type": "string", "const": "0"},
            "id": {"type": "string"},
            "detail-type": {"type": "string", "const": detail_type},
            "source": {"type": "string"},
            "account": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "detail": detail,
        },
    }
    if definitions:
        schema["$defs"] = definitions
    return schema
