"""What the spec states about an operation's answers: the examples written inline in it."""

from __future__ import annotations

import copy
from typing import Any

from .fields import _document  # the spec as read, cached

__all__ = ["spec_answer_example"]


def spec_answer_example(
    spec_file: str, operation_id: str, example: str, status: str = "200"
) -> Any:
    """A copy of the value of the example `example` the spec states inline in the JSON answer
    of `status` of the operation `operation_id` (a KeyError when there is none)."""
    for item in _document(spec_file)["paths"].values():
        for operation in (o for o in item.values() if isinstance(o, dict)):  # not `parameters`
            if operation.get("operationId") == operation_id:
                answer = operation["responses"][status]["content"]["application/json"]
                return copy.deepcopy(answer["examples"][example]["value"])
    raise KeyError(f"{spec_file} has no operation {operation_id}")
