"""What a spec states outside its schemas: an operation's answer's examples, shared parameters."""

from __future__ import annotations

import copy
from typing import Any

from .fields import spec_document

__all__ = ["spec_answer_example", "spec_parameter"]


def spec_answer_example(
    spec_file: str, operation_id: str, example: str, status: str = "200"
) -> Any:
    """A copy of the value of the example `example` the spec states inline in the JSON answer
    of `status` of the operation `operation_id` (a KeyError when there is none)."""
    for item in spec_document(spec_file)["paths"].values():
        for operation in (o for o in item.values() if isinstance(o, dict)):  # not `parameters`
            if operation.get("operationId") == operation_id:
                answer = operation["responses"][status]["content"]["application/json"]
                return copy.deepcopy(answer["examples"][example]["value"])
    raise KeyError(f"{spec_file} has no operation {operation_id}")


def spec_parameter(spec_file: str, parameter: str) -> Any:
    """The parameter the spec states in `components/parameters/<parameter>` (as read: not to
    be changed)."""
    return spec_document(spec_file)["components"]["parameters"][parameter]
