"""The four-field think block the think-mode prompt asks for (SPEC §5)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

THINK_FIELDS: tuple[str, ...] = (
    "task_interpretation",
    "current_page_audit",
    "path_alignment_check",
    "action_validation",
)


def _has_content(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


ThinkText = Annotated[str, AfterValidator(_has_content), Field(json_schema_extra={"minLength": 1})]


class ThinkBlock(BaseModel):
    """``<think>{...}</think>`` content: four non-blank strings, nothing else."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_interpretation: ThinkText = Field(description="What the task asks for, in the agent's words")
    current_page_audit: ThinkText = Field(description="What the current screen shows that matters")
    path_alignment_check: ThinkText = Field(description="Where the history stands against the task path")
    action_validation: ThinkText = Field(description="Why the chosen action is the right next step")
