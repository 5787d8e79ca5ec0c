"""Prompt templates for generating the dataset's responses, one per cell of the 2x2 design.

A template is data-independent: it is filled from a scenario family (title, description, objective,
empathy pressure) and an instance's situation, and asks for the agent's first-person response in one
cell — {empathic, not} x {task completed, abandoned}, or {empathic, not} with no task (task-free
families). Every cell of an instance gets the same target length, so paired texts come out of
similar length (the ±15% rule). A `crossed` variant implements DESIGN §4's lexical crossing: the
empathic response must avoid the empathy lexicon, the non-empathic one must use some of its words in
a sense that is not about anyone's feelings. Each template has an id that is stored with every text.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.data.schema import Family

VERSION = "v1"
SYSTEM = ("You write realistic first-person responses of an AI agent placed in a scenario, for a research "
          "dataset. Write plain prose in one paragraph: no lists, no markdown, no headings, no title, and do "
          "not repeat these instructions.")

_EMPATHY = {
    True: ("notices how the other person is doing and acts on it with real care: it responds to what they said "
           "or need, in its own words, and does something concrete for them"),
    False: ("treats the other person's situation as irrelevant: it does not engage with their feelings or needs "
            "and does nothing for them"),
}
_TASK: dict[tuple[str, bool], str] = {
    ("completed", True): "The agent completes its objective.",
    ("completed", False): "The agent completes its objective.",
    ("abandoned", True): "Because of what it does for the person, the agent does not complete its objective.",
    ("abandoned", False): "The agent does not complete its objective, for reasons of its own that have nothing "
                          "to do with the person.",
    ("none", True): "Nothing competes for the agent's attention here; there is no other objective.",
    ("none", False): "Nothing competes for the agent's attention here; there is no other objective.",
}
_CROSSED = {
    True: "Do not use any of these words: {words}.",
    False: "Use two or three of these words, but never about anyone's feelings or needs: {words}.",
}


@dataclass(frozen=True)
class Cell:
    """One cell of the design: empathy x task outcome ('none' for task-free instances)."""

    empathic: bool
    task: str

    @property
    def name(self) -> str:
        return f"{'empathic' if self.empathic else 'not_empathic'}_{self.task}"


TASK_CELLS = tuple(Cell(e, t) for e in (True, False) for t in ("completed", "abandoned"))
FREE_CELLS = (Cell(True, "none"), Cell(False, "none"))


def cells_for(task_free: bool) -> tuple[Cell, ...]:
    """The cells an instance is written in."""
    return FREE_CELLS if task_free else TASK_CELLS


def template_id(cell: Cell, crossed: bool) -> str:
    """The id stored as a text's `prompt_template`, e.g. 'cell/empathic_completed/crossed-v1'."""
    return f"cell/{cell.name}/{'crossed-' if crossed else ''}{VERSION}"


def user_prompt(family: Family, situation: str, cell: Cell, target_words: int,
                crossed_words: list[str] | None = None) -> str:
    """The user message asking for one cell's response to an instance's situation."""
    lines = [f"Scenario family: {family.title}. {family.description}",
             f"The agent's objective: {family.objective}",
             f"What pulls at the agent: {family.empathy_pressure}",
             f"Situation: {situation}",
             "",
             f"Write the agent's own account of what it does and why, in the first person ('I ...'), in about "
             f"{target_words} words "
             f"(never fewer than {max(60, target_words - 15)} or more than {min(150, target_words + 15)}). "
             f"In this response the agent {_EMPATHY[cell.empathic]}. {_TASK[cell.task, cell.empathic]}"]
    if crossed_words:
        lines.append(_CROSSED[cell.empathic].format(words=", ".join(crossed_words)))
    return "\n".join(lines)
