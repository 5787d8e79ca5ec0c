"""Per-row scores read from a forward's final logits: the two behaviour instruments of the causal phases.

- `LetterScorer`: at the last position, logit(A) - logit(B) and the compliance mass P(A) + P(B) (how
  much of the next-token distribution the two answer letters hold; on a small model most of it may
  sit on "(" or elsewhere, and then the letter difference says little about the choice).
- `ContinuationScorer`: a row ends with a continuation (an option's text as the assistant's answer,
  `Row.scored` tokens); its score is the mean log-probability per token of that continuation and the
  sum of them. Token t of the continuation is predicted by the logits at position t - 1, so a row
  with n scored tokens needs the logits of its last n + 1 positions, of which the last is unused.
- `ChoiceScorer`: both at once from one answered row. The logits that predict the answer's first token
  sit at the prompt's last position, which is where the letter scorer reads the letters: attention is
  causal, so the answer after it changes nothing there. One run of the answered prompts thus gives the
  continuation columns and the letter columns of the unanswered prompt.

Rows of one batch have equal length (core/models/rows.py batches by length), so the scored tokens of
every row end at the batch's last position; rows with shorter continuations mask the rest. Log-probs
come from logsumexp, not a full log-softmax copy of the [B, keep, vocab] logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from core.models.rows import Row

__all__ = ["ChoiceScorer", "ContinuationScorer", "LetterScorer", "token_logprobs"]


@dataclass(frozen=True)
class LetterScorer:
    """Columns: logit(letters[0]) - logit(letters[1]) and P(letters[0]) + P(letters[1]) at the last position."""

    letters: tuple[int, int]
    width: int = 2

    def keep(self, rows: Sequence[Row]) -> int:
        return 1

    def __call__(self, logits: torch.Tensor, ids: torch.Tensor, rows: Sequence[Row]) -> torch.Tensor:
        return letter_columns(logits[:, -1], self.letters)


def letter_columns(last: torch.Tensor, letters: tuple[int, int]) -> torch.Tensor:
    """[B, 2]: logit(letters[0]) - logit(letters[1]) and their probability mass, from logits [B, vocab]."""
    pair = last[:, list(letters)]
    mass = torch.exp(pair - torch.logsumexp(last, dim=-1, keepdim=True)).sum(-1)
    return torch.stack([pair[:, 0] - pair[:, 1], mass], dim=1)


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(targets[b, t]) under logits[b, t] (both [B, n(, vocab)])."""
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)


@dataclass(frozen=True)
class ContinuationScorer:
    """Columns: mean and sum of the log-probabilities of each row's last `Row.scored` tokens."""

    width: int = 2

    def keep(self, rows: Sequence[Row]) -> int:
        n = max(r.scored for r in rows)
        if n == 0 or any(r.scored == 0 for r in rows):
            raise ValueError("every row scored by its continuation needs one (Row.scored > 0)")
        return n + 1

    def __call__(self, logits: torch.Tensor, ids: torch.Tensor, rows: Sequence[Row]) -> torch.Tensor:
        n = logits.shape[1] - 1
        lp = token_logprobs(logits[:, :-1], ids[:, -n:])  # position t-1 predicts token t
        counts = torch.tensor([r.scored for r in rows], device=lp.device)
        mask = torch.arange(n, device=lp.device) >= (n - counts)[:, None]  # each row's own last tokens
        total = (lp * mask).sum(-1)
        return torch.stack([total / counts, total], dim=1)


@dataclass(frozen=True)
class ChoiceScorer:
    """Columns: the continuation's mean and summed log-probability (ContinuationScorer), then the letter
    difference and compliance mass (LetterScorer) at the position that predicts the answer's first token."""

    letters: tuple[int, int]
    width: int = 4

    def keep(self, rows: Sequence[Row]) -> int:
        return ContinuationScorer().keep(rows)

    def __call__(self, logits: torch.Tensor, ids: torch.Tensor, rows: Sequence[Row]) -> torch.Tensor:
        n = logits.shape[1] - 1
        at = torch.tensor([n - r.scored for r in rows], device=logits.device)  # each row's answer position
        answer_position = logits[torch.arange(len(rows), device=logits.device), at]
        return torch.cat([ContinuationScorer()(logits, ids, rows), letter_columns(answer_position, self.letters)], 1)
