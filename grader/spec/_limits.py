"""Phase limits in a spec: partial overrides of ``sandbox.Limits`` that may only lower them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from sandbox import Limits, format_size, parse_size


def is_size(limit: str) -> bool:
    return any(getattr(meta, "func", None) is parse_size
               for meta in Limits.model_fields[limit].metadata)


def _override_field(name: str) -> tuple[Any, Any]:
    info = Limits.model_fields[name]
    annotation: Any = (Annotated[(info.annotation, *info.metadata)] if info.metadata
                       else info.annotation)
    if is_size(name):
        annotation = Annotated[annotation, WithJsonSchema(
            {"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]})]
    # Default None without Optional: an explicit `memory: null` is an error, not "no override".
    return annotation, Field(None, description=info.description)


# Generated from Limits so a new limit is overridable the day it exists.
# pydantic's overloads cannot read field definitions from a ** of a built dict.
LimitOverrides: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "LimitOverrides",
    __config__=ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False),
    __doc__="Limits this phase lowers: any field of ``sandbox.Limits`` (sizes may be '2g'); "
            "``runtime: runsc`` requires the gVisor isolation tier.",
    **{name: _override_field(name) for name in Limits.model_fields},
)


def shown(field: str, value: float) -> str:
    if is_size(field) and value >= 1024:
        return format_size(value)
    return f"{value:g}"
