"""A recorded step as the corpus stores it: ``TASK/step_N.json`` (SPEC §2)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gui_agent_rl.schemas.actions import Action, describe_validation_error
from gui_agent_rl.schemas.think import ThinkBlock

#: Input fields that name screenshots, in the order their images are fed to the model.
SCREEN_FIELDS: tuple[str, ...] = ("screen_path1", "screen_path2")


class StepInput(BaseModel):
    """What the agent is given. Unknown keys are kept (they travel into the prompt verbatim)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    task_content: str = Field(description="The whole task, in words")
    task_path: dict[str, str] = Field(default_factory=dict, description="Planned steps, '1'..'n'")
    screen_path1: str | None = Field(default=None, description="Previous screen (absent on step 0)")
    screen_path2: str | None = Field(default=None, description="Current screen: coordinates refer to it")
    history_path_all: list[str] = Field(default_factory=list, description="Steps taken so far")
    app_name: str | None = Field(default=None, description="App being operated")
    action_type_list: dict[str, str] = Field(default_factory=dict, description="Allowed action types")

    @field_validator("screen_path1", "screen_path2")
    @classmethod
    def _empty_is_absent(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    def screens(self) -> list[tuple[str, str]]:
        """``[(field, path), ...]`` for the screenshots present, previous before current."""
        return [(f, getattr(self, f)) for f in SCREEN_FIELDS if getattr(self, f)]


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


class StepRecord(BaseModel):
    """One step file: the input, the correct next action and, optionally, a gold think block."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: StepInput
    output: Action
    think: ThinkBlock | None = Field(
        default=None, description="Optional gold think block (four fields): the SFT target in think mode"
    )
    meta: dict[str, Any] | None = Field(
        default=None,
        description="Optional facts about the step (source, episode_id, screen_size, tap_point, elements, "
        "...): written by importers, copied verbatim into the built sample as 'meta', never into the prompt",
    )

    @field_validator("meta", mode="before")
    @classmethod
    def _meta_is_an_object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"must be a JSON object, got {_json_type(value)}")
        return value

    @classmethod
    def from_obj(cls, obj: Any) -> StepRecord:
        """Validate a parsed step file; ``ValueError`` names the field (``output.action_parameter...``)."""
        try:
            return cls.model_validate(obj)
        except ValidationError as exc:
            raise ValueError(describe_validation_error(exc)) from None
