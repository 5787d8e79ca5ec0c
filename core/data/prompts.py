"""Forced-choice prompts and their token-aligned minimal pairs (the input of the causal phases).

One prompt is a chat-templated user message: the instance's minimal-pair template with its slot
filled by the empathy cue (clean) or the neutral event (corrupt), the forced-choice question, the two
options labelled (A) and (B) in a given order, and "Answer with A or B."; the generation prompt is
appended, so the answer is predicted at the last position. The clean and corrupt ids have the same
length and differ only inside the slot: everything before the first differing token is a shared
prefix (the KV cache the intervention engine reuses), and every later position may differ.
Behaviour's controls fill the corrupt slot with another event (`against`): the negative event, or the
cue's own words in a seeded random order (`scrambled`: the cue's lexicon without its meaning).

Two behaviour metrics read the same prompts (one instrument, `behaviour.metric` in params.yaml):
- `letter`: LD = logit(empathic option's letter) - logit(task option's letter) at the answer position;
- `continuation`: each prompt is followed by an option's own text as the assistant's answer (the
  `answer_len` last tokens of the ids), scored by its mean log-probability per token; the metric is
  the empathic option's minus the task option's.
Both run both option orders and average them (counterbalancing cancels a preference for a letter or a
position). A metric's "variants" are the sequences it scores: 2 (the orders) for `letter`, 4 (orders
x options) for `continuation`; each carries the sign it enters the metric with, and the metric is
sum over variants of sign x score / 2 (`combine`).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from core.data.schema import Instance

LETTERS = ("A", "B")
Metric = Literal["continuation", "letter"]
# what fills the slot of the corrupt prompt: the neutral event (the causal phases' contrast), or one of
# behaviour's controls: the negative event with nobody in need (does any negative event move the metric like
# the cue?) or the scrambled cue (do the cue's words move it without their meaning?)
Against = Literal["neutral", "negative", "scrambled"]
TRAILING = ".!?;:,"


@dataclass(frozen=True)
class ChoicePair:
    """One instance in one option order (and, for the continuation metric, with one option's text as
    the answer): clean and corrupt ids and where they differ."""

    instance_id: str
    empathic_first: bool
    clean_ids: tuple[int, ...]
    corrupt_ids: tuple[int, ...]
    span: tuple[int, int]  # [start, end) of the differing tokens
    answer_len: int = 0  # tokens of the answer continuation at the end of the ids (0: none, letter metric)
    option: str = ""  # whose text the answer is: "empathic" or "task" ("" without an answer)

    @property
    def length(self) -> int:
        return len(self.clean_ids)

    @property
    def prefix_len(self) -> int:
        return self.span[0]

    @property
    def prompt_len(self) -> int:
        """Tokens of the prompt (the answer position is prompt_len - 1)."""
        return self.length - self.answer_len

    @property
    def sign(self) -> float:
        """How the variant's score enters the metric: with an answer, +1 for the empathic option's text and
        -1 for the task option's; without, +1 when the empathic option is (A) (LD = sign * (logit A - logit B))."""
        if self.answer_len:
            return 1.0 if self.option == "empathic" else -1.0
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


def scrambled(text: str, key: str) -> str | None:
    """`text`'s words in a random order other than their own, seeded by `key`, with its final punctuation
    kept at the end; None with fewer than two distinct words (no other order exists)."""
    body = text.strip()
    stem = body.rstrip(TRAILING)
    words = stem.split()
    if len(set(words)) < 2:
        return None
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    while (order := [words[i] for i in rng.permutation(len(words))]) == words:
        pass
    return " ".join(order) + body[len(stem):]


def event_text(instance: Instance, against: Against) -> str | None:
    """What fills the corrupt prompt's slot (None when the instance has no such event)."""
    mp = instance.minimal_pair
    if against == "scrambled":
        return scrambled(mp.cue, instance.instance_id)
    return mp.negative if against == "negative" else mp.neutral


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


def choice_pair(tokenizer: Any, instance: Instance, empathic_first: bool, against: Against = "neutral"
                ) -> ChoicePair:
    """Clean (cue) and corrupt (`against` event) prompts of one order; ValueError when they are not
    token-aligned or the instance has no such event."""
    mp, event = instance.minimal_pair, event_text(instance, against)
    if event is None:
        raise ValueError(f"{instance.instance_id}: the minimal pair has no {against} event")
    clean = prompt_ids(tokenizer, user_message(instance, mp.cue, empathic_first))
    corrupt = prompt_ids(tokenizer, user_message(instance, event, empathic_first))
    if len(clean) != len(corrupt):
        raise ValueError(f"{instance.instance_id}: cue and {against} prompts differ in length "
                         f"({len(clean)} vs {len(corrupt)} tokens)")
    diff = [i for i, (a, b) in enumerate(zip(clean, corrupt, strict=True)) if a != b]
    if not diff:
        raise ValueError(f"{instance.instance_id}: cue and {against} prompts are identical")
    return ChoicePair(instance.instance_id, empathic_first, tuple(clean), tuple(corrupt), (diff[0], diff[-1] + 1))


def counterbalanced(tokenizer: Any, instance: Instance, against: Against = "neutral"
                    ) -> tuple[ChoicePair, ChoicePair]:
    """The instance's own option order and the swapped one (they share the prefix before the slot)."""
    given = instance.forced_choice.empathic_first
    first = choice_pair(tokenizer, instance, given, against)
    second = choice_pair(tokenizer, instance, not given, against)
    if first.clean_ids[:first.prefix_len] != second.clean_ids[:second.prefix_len]:
        raise ValueError(f"{instance.instance_id}: the two option orders do not share the prefix before the slot")
    return first, second


def answered(tokenizer: Any, instance: Instance, pair: ChoicePair) -> tuple[ChoicePair, ChoicePair]:
    """The pair with the empathic option's text, then the task option's, appended as the answer."""
    fc, out = instance.forced_choice, []
    for option, text in (("empathic", fc.empathic_option), ("task", fc.task_option)):
        answer = tuple(tokenizer(text.strip(), add_special_tokens=False)["input_ids"])
        if not answer:
            raise ValueError(f"{instance.instance_id}: the {option} option has no tokens")
        out.append(replace(pair, clean_ids=pair.clean_ids + answer, corrupt_ids=pair.corrupt_ids + answer,
                           answer_len=len(answer), option=option))
    return out[0], out[1]


def variants(tokenizer: Any, instance: Instance, metric: Metric, against: Against = "neutral"
             ) -> tuple[ChoicePair, ...]:
    """The sequences `metric` scores: both orders (letter), or both orders x both answers (continuation)."""
    orders = counterbalanced(tokenizer, instance, against)
    if metric == "letter":
        return orders
    return tuple(v for pair in orders for v in answered(tokenizer, instance, pair))


def combine(signed: Sequence[Any]) -> Any:
    """The metric from the variants' signed scores (sign x score, one entry or array per variant): their
    sum over the two option orders' variants, halved (the mean over orders of empathic - task)."""
    return sum(signed) / 2


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


def aligned_instances(tokenizer: Any, instances: list[Instance], metric: Metric = "letter",
                      against: Against = "neutral") -> tuple[dict[str, tuple[ChoicePair, ...]], list[str]]:
    """The metric's variants of every instance whose cue and `against` event are token-aligned, and the
    ids that were not (or have no such event)."""
    pairs: dict[str, tuple[ChoicePair, ...]] = {}
    skipped = []
    for inst in instances:
        try:
            pairs[inst.instance_id] = variants(tokenizer, inst, metric, against)
        except ValueError:
            skipped.append(inst.instance_id)
    return pairs, skipped
