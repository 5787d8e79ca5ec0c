"""The dataset's record types (pydantic), for our format and for v0's JSONL.

Our format (`data/dataset_expanded.json`) stores each text once, tagged with its cell of the 2x2
design {empathic, not} x {task completed, abandoned} (or `none` for task-free instances); pairs are
derived from the cells, so a text is never duplicated between its empathy pair and its task pair.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Split = Literal["train", "validation", "test"]
Task = Literal["completed", "abandoned", "none"]
PairKind = Literal["empathy_task_completed", "empathy_task_abandoned", "empathy_task_free",
                   "task_empathic", "task_not_empathic", "empathy_v0"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class Family(Strict):
    """A scenario family, with the rubric and the split its whole family belongs to."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    description: str
    objective: str
    empathy_pressure: str
    rubric: dict[Literal["0", "1", "2"], str]
    task_free: bool
    split: Split


class ForcedChoice(Strict):
    question: str
    empathic_option: str
    task_option: str
    empathic_first: bool


class MinimalPair(Strict):
    """The same prompt with a distress cue, a flat event, and (v3) a negative event with nobody in need:
    cue - neutral is the cue's effect; cue - negative separates "someone in distress" from "negative"."""

    template: str
    cue: str
    neutral: str
    negative: str | None = None

    @field_validator("template")
    @classmethod
    def _one_slot(cls, value: str) -> str:
        if value.count("{event}") != 1:
            raise ValueError("template must contain exactly one {event} slot")
        return value


class Instance(Strict):
    instance_id: str
    family: str
    situation: str
    forced_choice: ForcedChoice
    minimal_pair: MinimalPair
    matched: bool = False  # v3: its empathy pairs are minimal edits of each other (the matched subset)
    abandon_cause: str | None = None  # v3: why the task fails in both abandoned texts

    _situation = field_validator("situation")(_non_empty)


class TextRecord(Strict):
    """One response text and its provenance."""

    text_id: str
    instance_id: str
    empathic: bool
    task: Task
    text: str
    source: str = "authored"  # "authored", or the generator's model alias
    temperature: float | None = None
    seed: int | None = None
    prompt_template: str | None = None
    model_revision: str | None = None  # generated texts: the generator's revision
    rules: str | None = None  # the writing rules' revision (v3: docs/dataset-v3-rules.md)
    written: str | None = None  # ISO date the text was written or generated

    _text = field_validator("text")(_non_empty)


class SteeringPrompt(Strict):
    prompt_id: str
    text: str
    family: str | None = None  # v3: its family (and so its split); None: v2's unsplit task-free prompts
    task_conflict: bool = False  # a task and a person in need (else task-free)

    _text = field_validator("text")(_non_empty)


class V0Pair(BaseModel):
    """One line of v0's JSONL (extra fields such as `ablation_stats` are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)
    scenario_id: str
    scenario_title: str
    empathic_text: str
    non_empathic_text: str
    source_model: str | None = None
    run_id: int | None = None
    generated_at: str | None = None
    format: str | None = None
    temperature: float | str | None = None

    _texts = field_validator("empathic_text", "non_empathic_text")(_non_empty)
