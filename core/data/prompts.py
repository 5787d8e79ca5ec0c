"""Forced-choice prompts and their token-aligned minimal pairs (the input of the causal phases).

One prompt is a chat-templated user message: the instance's minimal-pair template with its slot
filled by the empathy cue (clean) or the neutral event (corrupt), the forced-choice question, the two
options labelled (A) and (B) in a given order, and "Answer with A or B."; the generation prompt is
appended, so the answer is predicted at the last position. The clean and corrupt ids have the same
length and differ only inside the slot: everything before the first differing token is a shared
prefix (the KV cache the intervention engine reuses), and every later position may differ.

The behaviour metric is LD = logit(empathic option's letter) - logit(task option's letter) at the
answer position; counterbalancing runs both option orders and averages them, which cancels any
preference for a letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.data.schema import Instance

LETTERS = ("A", "B")


@dataclass(frozen=True)
class ChoicePair:
    """One instance in one option order: clean and corrupt ids and where they differ."""

    instance_id: str
    empathic_first: bool
    clean_ids: tuple[int, ...]
    corrupt_ids: tuple[int, ...]
    span: tuple[int, int]  # [start, end) of the differing tokens

    @property
    def length(self) -> int:
        return len(self.clean_ids)

    @property
    def prefix_len(self) -> int:
        return self.span[0]

    @property
    def sign(self) -> float:
        """+1 when the empathic option is (A): LD = sign * (logit A - logit B)."""
        return 1.0 if self.empathic_first else -1.0


def user_message(instance: Instance, event: str, empathic_first: bool) -> str:
    """The user turn: filled template, question (unless the template already ends with it), options."""
    fc = instance.forced_choice
    scene = instance.minimal_pair.template.replace("{event}", event).rstrip()
    question = fc.question.strip()
    if not scene.endswith(question):
        scene = f"{scene}\n\n{question}"
    first, second = (fc.empathic_option, fc.task_option) if empathic_first else (fc.task_option, fc.empathic_option)
    return f"{scene}\n({LETTERS[0]}) {first}\n({LETTERS[1]}) {second}\nAnswer with {LETTERS[0]} or {LETTERS[1]}."


def prompt_ids(tokenizer: Any, message: str) -> list[int]:
    """Token ids of a one-turn chat with the generation prompt appended (the answer comes next)."""
    text = tokenizer.apply_chat_template([{"role": "user", "content": message}], tokenize=False,
                                         add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def letter_ids(tokenizer: Any) -> tuple[int, int]:
    """The single token of each answer letter as the first generated token."""
    ids = [tokenizer.encode(letter, add_special_tokens=False) for letter in LETTERS]
    if any(len(i) != 1 for i in ids):
        raise ValueError(f"answer letters are not single tokens under this tokenizer: {ids}")
    return ids[0][0], ids[1][0]


def choice_pair(tokenizer: Any, instance: Instance, empathic_first: bool) -> ChoicePair:
    """Clean and corrupt prompts of one order; ValueError when they are not token-aligned."""
    mp = instance.minimal_pair
    clean = prompt_ids(tokenizer, user_message(instance, mp.cue, empathic_first))
    corrupt = prompt_ids(tokenizer, user_message(instance, mp.neutral, empathic_first))
    if len(clean) != len(corrupt):
        raise ValueError(f"{instance.instance_id}: cue and neutral prompts differ in length "
                         f"({len(clean)} vs {len(corrupt)} tokens)")
    diff = [i for i, (a, b) in enumerate(zip(clean, corrupt, strict=True)) if a != b]
    if not diff:
        raise ValueError(f"{instance.instance_id}: cue and neutral prompts are identical")
    return ChoicePair(instance.instance_id, empathic_first, tuple(clean), tuple(corrupt), (diff[0], diff[-1] + 1))


def counterbalanced(tokenizer: Any, instance: Instance) -> tuple[ChoicePair, ChoicePair]:
    """The instance's own option order and the swapped one (they share the prefix before the slot)."""
    given = instance.forced_choice.empathic_first
    first, second = choice_pair(tokenizer, instance, given), choice_pair(tokenizer, instance, not given)
    if first.clean_ids[:first.prefix_len] != second.clean_ids[:second.prefix_len]:
        raise ValueError(f"{instance.instance_id}: the two option orders do not share the prefix before the slot")
    return first, second


def sample_instances(instances: list[Instance], per_family: int, seed: int) -> list[Instance]:
    """A seeded subsample of `per_family` instances from every family (0 keeps them all); with the same
    seed a smaller sample is contained in a larger one."""
    if per_family == 0:
        return list(instances)
    rng = np.random.default_rng(seed)
    by_family: dict[str, list[Instance]] = {}
    for inst in instances:
        by_family.setdefault(inst.family, []).append(inst)
    keep: set[str] = set()
    for family in sorted(by_family):
        members = by_family[family]
        order = rng.permutation(len(members))  # a prefix of one permutation: smaller samples nest in larger
        keep.update(members[i].instance_id for i in order[:per_family])
    return [inst for inst in instances if inst.instance_id in keep]


def aligned_instances(tokenizer: Any, instances: list[Instance]
                      ) -> tuple[dict[str, tuple[ChoicePair, ChoicePair]], list[str]]:
    """Counterbalanced pairs of every token-aligned instance, and the ids that were not aligned."""
    pairs, skipped = {}, []
    for inst in instances:
        try:
            pairs[inst.instance_id] = counterbalanced(tokenizer, inst)
        except ValueError:
            skipped.append(inst.instance_id)
    return pairs, skipped
