"""Transcripts screen: one steering prompt's generations across alpha, side by side (stacked when the
terminal is narrow), each with its scores and coherence. Keys step through prompts and samples."""

from __future__ import annotations

from rich.markup import escape
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from app.catalog import Catalog
from app.messages import TranscriptsLoaded
from app.reads import Generation, PromptKey, steering_prompts, transcripts
from app.screens.provenance import ProvenanceScreen

# Below this width, or below CARD_MIN columns per card (the paper grid has 21 alphas), the cards of one
# prompt no longer fit beside each other legibly and are stacked instead.
STACK_BELOW = 100
CARD_MIN = 16


def describe(gen: Generation) -> str:
    """A card's text: the generation, then its scores and coherence."""
    rel = f" (rel {gen.alpha_rel:+.2f})" if gen.alpha_rel is not None else ""
    ppl = f"{gen.perplexity:.2f}" if gen.perplexity is not None else "-"
    rep = f"{gen.repetition:.2f}" if gen.repetition is not None else "-"
    flag = "  [red]degenerate[/]" if gen.degenerate else ""
    return (f"[b]α = {gen.alpha:+g}[/]{rel}\n{escape(gen.text.strip()) or '[dim](empty)[/]'}\n\n"
            f"[dim]{escape(gen.scores)}\nppl {ppl}  rep {rep}  tokens {gen.n_tokens}[/]{flag}")


def _prompt(key: PromptKey) -> tuple[str, int, str]:
    return key.model, key.layer, key.prompt_id


class TranscriptsScreen(Screen[None]):
    """Steered generations of one prompt across every alpha."""

    BINDINGS = [
        Binding("right,n", "step(1)", "Next prompt"),
        Binding("left,b", "step(-1)", "Prev prompt"),
        Binding("s", "sample", "Next sample"),
        Binding("v", "provenance", "Provenance"),
    ]

    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self.catalog = catalog
        self.prompts: list[PromptKey] = []
        self.index = 0
        self.generations: list[Generation] = []

    def compose(self) -> ComposeResult:
        """Prompt line above the cards."""
        yield Header()
        yield Static("loading…", id="prompt-line")
        yield Container(id="cards")
        yield Footer()

    def on_mount(self) -> None:
        """Read the prompt list and the first prompt."""
        self.load(0)

    def on_resize(self, event: events.Resize) -> None:
        """Stack the cards on narrow terminals."""
        self.layout_cards(event.size.width)

    def layout_cards(self, width: int) -> None:
        """Side by side when every card gets CARD_MIN columns, else stacked."""
        cards = max(1, len(self.generations))
        self.query_one("#cards").set_class(width < STACK_BELOW or width // cards < CARD_MIN, "stacked")

    @work(thread=True, exclusive=True, group="transcripts", exit_on_error=False)
    def load(self, index: int) -> None:
        """Prompts (once) and one prompt's generations, off the UI thread."""
        self.catalog.ensure_scanned()
        prompts = self.prompts or steering_prompts(self.catalog)
        index = index % len(prompts) if prompts else 0
        gens = transcripts(self.catalog, prompts[index]) if prompts else []
        self.post_message(TranscriptsLoaded(prompts, index, gens))

    def on_transcripts_loaded(self, message: TranscriptsLoaded) -> None:
        """One card per alpha."""
        self.prompts, self.index, self.generations = message.prompts, message.index, message.generations
        line = self.query_one("#prompt-line", Static)
        cards = self.query_one("#cards", Container)
        cards.remove_children()
        if not self.prompts:
            line.update("No steering generations yet: run the steering phase (p), then collect.")
            return
        key = self.prompts[self.index]
        kind = "task-free" if key.task_free else "task conflict"
        starts, samples = self._starts(), self._samples()
        at = max(j for j, start in enumerate(starts) if start <= self.index)
        line.update(f"prompt {at + 1} / {len(starts)}  [b]{escape(key.prompt_id)}[/]  {escape(key.family)} "
                    f"({kind})  sample {samples.index(self.index) + 1} / {len(samples)}  "
                    f"model {escape(key.model)}  layer {key.layer}   [dim]←/→ prompt  s sample  v provenance[/]")
        cards.mount_all(Static(describe(g), classes="card") for g in self.generations)
        self.layout_cards(self.size.width)

    def _starts(self) -> list[int]:
        """Index of each prompt's first sample (the list holds one row per prompt and sample)."""
        return [i for i, k in enumerate(self.prompts) if i == 0 or _prompt(self.prompts[i - 1]) != _prompt(k)]

    def _samples(self) -> list[int]:
        """Indices of the current prompt's samples."""
        here = _prompt(self.prompts[self.index])
        return [i for i, k in enumerate(self.prompts) if _prompt(k) == here]

    def action_step(self, step: int) -> None:
        """The next (1) or previous (-1) prompt, at its first sample."""
        if self.prompts:
            starts = self._starts()
            at = max(j for j, start in enumerate(starts) if start <= self.index)
            self.load(starts[(at + step) % len(starts)])

    def action_sample(self) -> None:
        """The same prompt's next sample (wrapping to its first)."""
        if self.prompts:
            same = self._samples()
            self.load(same[(same.index(self.index) + 1) % len(same)])

    def action_provenance(self) -> None:
        """The run that generated these transcripts."""
        if self.generations:
            self.app.push_screen(ProvenanceScreen(self.catalog, self.generations[0].run_id))
