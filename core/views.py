"""The one home of results SQL: derived tables, the summary's sections and the catalog's listings.

Every query names tables as they are published (`runs`, `probes_selected`, ...). collect runs them
over DuckDB tables in outputs/results.duckdb, the summary over that file, and the TUI's catalog over
in-memory views of the Parquet parts; all three agree because they share this text. Plain data and
string builders only: no connection is held and nothing beyond the standard library is imported, so
the TUI (P3) can use it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

ANY_OF = "{any_of}"


@dataclass(frozen=True)
class Query:
    """A titled SELECT that runs when every table of `needs` exists.

    With `any_of`, the SQL reads `{any_of}`: the rows of those of the tables that exist, stacked by
    column name; the query runs when at least one of them exists.
    """

    title: str
    sql: str
    needs: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()

    def render(self, tables: Collection[str]) -> str | None:
        """The SQL over the tables present, or None when a table it needs is missing."""
        present = [t for t in self.any_of if t in tables]
        if not set(self.needs) <= set(tables) or (self.any_of and not present):
            return None
        return self.sql.replace(ANY_OF, union_all(present)) if self.any_of else self.sql


def quote_name(name: str) -> str:
    """A SQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def quote_text(text: str) -> str:
    """A SQL string literal in single quotes."""
    return "'" + text.replace("'", "''") + "'"


def union_all(tables: Iterable[str]) -> str:
    """A subquery stacking the rows of `tables` by column name (missing columns read NULL)."""
    return "(" + " UNION ALL BY NAME ".join(f"SELECT * FROM {quote_name(t)}" for t in tables) + ")"


# Derived tables: collect materialises them in results.duckdb, the catalog shows them as views.
DERIVED: dict[str, Query] = {
    # v0's method and v1's side by side (P1 of issue 4): the profile comes from each row's run.
    "probes_profiles": Query(
        "Probe at its chosen layer with the profile of its run (v0 beside v1)",
        "SELECT r.profile, s.* EXCLUDE (run_id, model), s.model, s.run_id "
        "FROM probes_selected s JOIN runs r USING (run_id) ORDER BY s.model, r.profile, s.method",
        needs=("probes_selected", "runs")),
    # The detection-vs-causal map (issue 14): per model and layer, how well the probe decodes (test AUROC,
    # mean-difference probe, v1 profiles) beside what the causal phases measured there: the cue's total
    # effect and the part through the probe direction (mediation), and the steering effect on the
    # classifier at the largest positive alpha, pooled over task-conflict prompts (NULL off the steered layer).
    "collect_layer_map": Query(
        "Detection vs causal effect by layer (test AUROC; mediation TE and NIE; steering effect at max alpha)",
        "SELECT a.model, a.layer, a.auroc AS test_auroc, a.ci_low AS auroc_ci_low, a.ci_high AS auroc_ci_high, "
        "m.te, m.te_ci_low, m.te_ci_high, m.nie, m.nie_ci_low, m.nie_ci_high, m.nie_p_holm, "
        "s.steering_alpha, s.steering_effect, s.steering_ci_low, s.steering_ci_high, s.steering_success "
        "FROM probes_auroc a JOIN runs r USING (run_id) "
        "LEFT JOIN mediation_effects m ON m.model = a.model AND m.layer = a.layer "
        "LEFT JOIN (SELECT model, layer, alpha AS steering_alpha, effect AS steering_effect, "
        "ci_low AS steering_ci_low, ci_high AS steering_ci_high, success AS steering_success FROM steering_summary "
        "WHERE scorer = 'classifier' AND family = 'ALL:task_conflict' AND alpha > 0 "
        "QUALIFY alpha = max(alpha) OVER (PARTITION BY model, layer)) s ON s.model = a.model AND s.layer = a.layer "
        "WHERE a.split = 'test' AND a.method = 'mean_diff' AND r.profile <> 'v0' ORDER BY a.model, a.layer",
        needs=("probes_auroc", "runs", "mediation_effects", "steering_summary")),
}

# Each causal phase answers its own questions in its own table (P4); the summary reads them together.
VERDICTS = ("behaviour_verdicts", "patching_verdicts", "ablation_verdicts", "mediation_verdicts")

SUMMARY: list[Query] = [
    Query("Probe layer chosen on validation families (v0: on test), scored on held-out test families:",
          "SELECT r.profile, s.model, s.method, s.layer, round(s.depth_frac, 2) AS depth, "
          "round(s.select_auroc, 3) AS select_auroc, s.selected_on, round(s.test_auroc, 3) AS test_auroc, "
          "round(s.ci_low, 3) AS ci_low, round(s.ci_high, 3) AS ci_high "
          "FROM probes_selected s JOIN runs r USING (run_id) ORDER BY s.model, r.profile = 'v0', s.method",
          needs=("probes_selected", "runs")),
    Query("Nulls at the chosen layer (probe AUROC against 1000 random directions / within-pair label swaps; "
          "perm_p_family: max over layers):",
          "SELECT sr.profile, s.model, s.method, s.layer, round(b.auroc_probe, 3) AS probe, "
          "round(b.null_q95, 3) AS random_q95, round(b.p_value, 4) AS random_p, round(p.null_q95, 3) AS perm_q95, "
          "round(p.p_layer, 4) AS perm_p, round(p.p_family, 4) AS perm_p_family "
          "FROM probes_selected s JOIN runs sr ON sr.run_id = s.run_id "
          "JOIN baselines_random b ON b.model = s.model AND b.method = s.method AND b.layer = s.layer "
          "JOIN runs br ON br.run_id = b.run_id AND br.profile = sr.profile "
          "LEFT JOIN (SELECT p.*, pr.profile FROM baselines_permutation p JOIN runs pr USING (run_id)) p "
          "ON p.model = s.model AND p.method = s.method AND p.layer = s.layer AND p.profile = sr.profile "
          "ORDER BY s.model, sr.profile = 'v0', s.method",
          needs=("baselines_random", "baselines_permutation", "probes_selected", "runs")),
    Query("Surface battery on the test families (each fit on train families; * = best on validation, the probe's bar):",
          "SELECT r.profile, b.model, b.baseline || CASE WHEN b.chosen THEN ' *' ELSE '' END AS baseline, "
          "round(b.auroc, 3) AS auroc, round(b.ci_low, 3) AS ci_low, round(b.ci_high, 3) AS ci_high, b.n_instances "
          "FROM probes_surface b JOIN runs r USING (run_id) WHERE b.split = 'test' "
          "ORDER BY b.model, r.profile = 'v0', b.auroc DESC, b.baseline",
          needs=("probes_surface", "runs")),
    Query("Probe minus best surface baseline on the test families (paired instance-clustered CI; LEACE = refit "
          "after erasing pronouns, length, lexicon count, and the bag-of-words score):",
          "SELECT r.profile, s.model, s.method, s.layer, round(s.test_auroc, 3) AS probe, s.best_baseline, "
          "round(s.baseline_test_auroc, 3) AS baseline, round(s.margin, 3) AS margin, "
          "round(s.margin_ci_low, 3) AS ci_low, round(s.margin_ci_high, 3) AS ci_high, s.margin_verdict AS better, "
          "round(e3.auroc, 3) AS leace_3, round(e4.auroc, 3) AS leace_3_bow "
          "FROM probes_selected s JOIN runs r USING (run_id) "
          "LEFT JOIN probes_erased e3 ON e3.run_id = s.run_id AND e3.model = s.model AND e3.method = s.method "
          "AND e3.layer = s.layer AND e3.erased = 'pronoun_length_lexicon' "
          "LEFT JOIN probes_erased e4 ON e4.run_id = s.run_id AND e4.model = s.model AND e4.method = s.method "
          "AND e4.layer = s.layer AND e4.erased = 'pronoun_length_lexicon_bow' "
          "ORDER BY s.model, r.profile = 'v0', s.method",
          needs=("probes_erased", "probes_selected", "runs")),
    Query("Length control at the chosen layer (word count regressed out; pairs where the empathic text is not "
          "longer):",
          "SELECT r.profile, l.model, l.method, l.layer, round(l.test_auroc, 3) AS test_auroc, "
          "round(l.adjusted_auroc, 3) AS within_class, round(l.residual_auroc, 3) AS pooled, "
          "round(l.pair_wins_empathic_not_longer, 3) AS wins_not_longer, l.n_pairs_empathic_not_longer AS n "
          "FROM probes_length_control l JOIN runs r USING (run_id) ORDER BY l.model, r.profile = 'v0', l.method",
          needs=("probes_length_control", "runs")),
    Query("Causal verdicts (evidence in the behaviour_verdicts, patching_verdicts, ablation_verdicts and "
          "mediation_verdicts tables):",
          f"SELECT model, question, answer FROM {ANY_OF} ORDER BY model, question",
          any_of=VERDICTS),
    Query("Lexical ablation at the chosen layer (extra AUROC drop of the lexicon edit over the matched control, "
          "instance-clustered 95% CI; survives = CI below the margin):",
          "SELECT model, method, layer, round(auroc_original, 3) AS original, round(extra_drop, 3) AS extra_drop, "
          "round(extra_ci_low, 3) AS ci_low, round(extra_ci_high, 3) AS ci_high, margin, survives "
          "FROM ablation_paired WHERE chosen ORDER BY model, method",
          needs=("ablation_paired",)),
    Query("Behaviour: the cue's total effect per metric (instance bootstrap 95% CI; letter: compliance mass "
          "P(A)+P(B), withheld below behaviour.min_mass):",
          "SELECT model, metric, units, round(te, 4) AS te, round(ci_low, 4) AS ci_low, round(ci_high, 4) AS ci_high, "
          "n_instances AS n, round(share_positive, 2) AS positive, round(mass_median, 2) AS mass, decided, "
          "used_by_causal_phases AS in_use FROM behaviour_effects ORDER BY model, metric",
          needs=("behaviour_effects",)),
    Query("Behaviour controls: cue vs a negative event with nobody in need, and vs a scramble of the cue's "
          "words (instances with all three events token-aligned; paired instance bootstrap 95% CI):",
          "SELECT model, metric, control, contrast, round(effect, 4) AS effect, round(ci_low, 4) AS ci_low, "
          "round(ci_high, 4) AS ci_high, n_instances AS n, decided FROM behaviour_controls "
          "ORDER BY model, metric, control, contrast",
          needs=("behaviour_controls",)),
    Query("Mediation by layer (sign-flip p over instances; Holm across layers; no verdict while TE's CI holds 0):",
          "SELECT model, layer, round(te, 3) AS te, round(te_ci_low, 3) AS te_lo, round(te_ci_high, 3) AS te_hi, "
          "round(nie, 4) AS nie, round(nie_p, 4) AS nie_p, round(nie_p_holm, 4) AS nie_p_holm "
          "FROM mediation_effects ORDER BY model, layer",
          needs=("mediation_effects",)),
    Query("Steering, pooled over prompts: classifier effect vs alpha=0 at the largest |alpha| of each sign:",
          "SELECT model, layer, family, alpha, round(alpha_rel, 3) AS alpha_rel, round(effect, 3) AS effect, "
          "round(ci_low, 3) AS ci_low, round(ci_high, 3) AS ci_high, round(p_holm, 4) AS p_holm, success, "
          "elbow_alpha, breakdown_alpha FROM steering_summary "
          "WHERE scorer = 'classifier' AND family LIKE 'ALL:%' AND alpha <> 0 "
          "QUALIFY abs(alpha) = max(abs(alpha)) OVER (PARTITION BY model, layer, family, sign(alpha)) "
          "ORDER BY model, layer, family, alpha",
          needs=("steering_summary",)),
    Query("Test AUROC by layer (mean-difference probe; v1 profiles):",
          "SELECT r.profile, a.model, a.layer, round(a.auroc, 3) AS auroc, round(a.ci_low, 3) AS lo, "
          "round(a.ci_high, 3) AS hi FROM probes_auroc a JOIN runs r USING (run_id) WHERE a.split = 'test' "
          "AND a.method = 'mean_diff' AND r.profile <> 'v0' ORDER BY a.model, r.profile, a.layer",
          needs=("probes_auroc", "runs")),
]

# Claims (core.claims, claims.yaml): queries a claim may name as its `source`, beside the published tables.
# Each yields one row per key that a claim's `where` picks (the profile is a column, so v0's rows beside the
# smoke ones never make a claim ambiguous); claims.yaml holds no SQL.
CLAIMS: dict[str, Query] = {
    # The probe at its chosen layer with its margin over the surface battery, per profile.
    "claims_probes": Query(
        "Each probe at its chosen layer, with the profile of its run",
        "SELECT r.profile, s.* FROM probes_selected s JOIN runs r USING (run_id)",
        needs=("probes_selected", "runs")),
    "claims_surface": Query(
        "The surface battery, with the profile of its run",
        "SELECT r.profile, b.* FROM probes_surface b JOIN runs r USING (run_id)",
        needs=("probes_surface", "runs")),
    # The nulls at each probe's chosen layer: random-direction p, permutation p (per layer, family-wise).
    "claims_nulls_at_chosen": Query(
        "Random-direction and label-permutation nulls at each probe's chosen layer",
        "SELECT sr.profile, s.model, s.method, s.layer, b.p_value AS random_p, b.n_extreme AS random_extreme, "
        "p.p_layer AS perm_p, p.p_family AS perm_p_family "
        "FROM probes_selected s JOIN runs sr ON sr.run_id = s.run_id "
        "JOIN baselines_random b ON b.model = s.model AND b.method = s.method AND b.layer = s.layer "
        "JOIN runs br ON br.run_id = b.run_id AND br.profile = sr.profile "
        "LEFT JOIN (SELECT q.*, qr.profile FROM baselines_permutation q JOIN runs qr USING (run_id)) p "
        "ON p.model = s.model AND p.method = s.method AND p.layer = s.layer AND p.profile = sr.profile",
        needs=("probes_selected", "baselines_random", "baselines_permutation", "runs")),
    # LEACE: what the probe at its chosen layer keeps once the surface features are erased.
    "claims_erased_at_chosen": Query(
        "AUROC of each probe at its chosen layer after LEACE erasure",
        "SELECT r.profile, s.model, s.method, s.layer, e.erased, e.auroc, e.ci_low, e.ci_high "
        "FROM probes_selected s JOIN runs r ON r.run_id = s.run_id "
        "JOIN probes_erased e ON e.run_id = s.run_id AND e.model = s.model AND e.method = s.method "
        "AND e.layer = s.layer",
        needs=("probes_selected", "probes_erased", "runs")),
    # Causal verdicts: how many of the questions came back undetermined, over all three phases.
    "claims_verdict_counts": Query(
        "Causal verdicts by kind",
        f"SELECT model, count(*) AS n_questions, count(*) FILTER (WHERE answer LIKE 'undetermined%') "
        f"AS n_undetermined FROM {ANY_OF} GROUP BY model",
        any_of=VERDICTS),
    # Steering: significant effects in the intended sign, per scorer and prompt set, over every nonzero alpha.
    "claims_steering_successes": Query(
        "Steering successes per scorer and prompt set",
        "SELECT model, layer, scorer, family, count(*) FILTER (WHERE success) AS n_success, count(*) AS n_alphas "
        "FROM steering_summary WHERE alpha <> 0 GROUP BY model, layer, scorer, family",
        needs=("steering_summary",)),
}


def claim_select(source: str, columns: Iterable[str], where: Mapping[str, object]) -> str:
    """SELECT `columns` FROM a table name or subquery, narrowed by equality on `where` (names and values quoted:
    claims.yaml supplies them)."""
    def literal(v: object) -> str:
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        return repr(v) if isinstance(v, int | float) else quote_text(str(v))

    cond = " AND ".join(f"{quote_name(k)} = {literal(v)}" for k, v in where.items())
    cols = ", ".join(quote_name(c) for c in columns)
    return f"SELECT {cols} FROM {source} AS src" + (f" WHERE {cond}" if cond else "")


# Listings: what the catalog and collect ask of a connection.
TABLE_NAMES = "SELECT table_name FROM information_schema.tables ORDER BY table_name"
AUROC_BY_LAYER = ("SELECT model || ' ' || method, layer, auroc FROM probes_auroc WHERE split = ? "
                  "ORDER BY 1, layer")


def over_parquet(name: str, files: Iterable[str], kind: str = "VIEW") -> str:
    """CREATE a view (or table) `name` over Parquet files, their columns matched by name."""
    listed = ", ".join(quote_text(f) for f in files)
    return f"CREATE OR REPLACE {kind} {quote_name(name)} AS SELECT * FROM read_parquet([{listed}], union_by_name=true)"


def create_as(name: str, sql: str, kind: str = "VIEW") -> str:
    """CREATE a view (or table) `name` from a SELECT."""
    return f"CREATE OR REPLACE {kind} {quote_name(name)} AS {sql}"


def filtered(table: str, where: str | None = None) -> str:
    """The rows of `table`, narrowed by a WHERE clause when one is given (callers vet the clause)."""
    if not where or not where.strip():
        return quote_name(table)
    return f"(SELECT * FROM {quote_name(table)} WHERE ({where}))"


def count_rows(source: str) -> str:
    """The number of rows of a table name or subquery."""
    return f"SELECT count(*) FROM {source}"


def page(source: str, limit: int, offset: int) -> str:
    """One page of rows of a table name or subquery."""
    return f"SELECT * FROM {source} LIMIT {int(limit)} OFFSET {int(offset)}"


def export_csv(source: str, path: str) -> str:
    """COPY the rows of a table name or subquery to a CSV file with a header."""
    return f"COPY (SELECT * FROM {source}) TO {quote_text(path)} (HEADER, DELIMITER ',')"

# The TUI's readers (app/reads.py): provenance, steering transcripts and the plot series. Each names the
# tables it reads, so the app asks only for what the catalog holds.
PROVENANCE = Query("The run behind a row", "SELECT * FROM runs WHERE run_id = ? LIMIT 1", needs=("runs",))
STEERING_PROMPTS = Query(
    "Steering prompts with generations",
    "SELECT DISTINCT model, layer, prompt_id, family, task_free, sample FROM steering_generations "
    "ORDER BY model, layer, task_free, prompt_id, sample", needs=("steering_generations",))
TRANSCRIPTS = Query(
    "One prompt's generations across alpha, with their scores and coherence",
    "SELECT g.alpha, g.alpha_rel, g.text, g.n_tokens, g.generation_id, g.run_id, c.perplexity, c.repetition, "
    "c.degenerate, (SELECT string_agg(printf('%s %.3f', s.scorer, s.value), chr(10) ORDER BY s.scorer) "
    "FROM steering_scores s WHERE s.model = g.model AND s.generation_id = g.generation_id) AS scores "
    "FROM steering_generations g LEFT JOIN steering_coherence c ON c.model = g.model "
    "AND c.generation_id = g.generation_id WHERE g.model = ? AND g.layer = ? AND g.prompt_id = ? AND g.sample = ? "
    "ORDER BY g.alpha", needs=("steering_generations", "steering_coherence", "steering_scores"))
# Plot series are named "<model> <method> [<profile>]": v0's runs of a model sit beside its v1 runs.
PLOT_AUROC = Query(
    "Test AUROC by layer per model, method and profile",
    "SELECT a.model || ' ' || a.method || ' [' || coalesce(r.profile, '?') || ']', a.layer, a.auroc "
    "FROM probes_auroc a LEFT JOIN runs r USING (run_id) WHERE a.split = 'test' ORDER BY 1, a.layer",
    needs=("probes_auroc", "runs"))
PLOT_NULL_BAND = Query(
    "95th percentile of random-direction AUROC by layer",
    "SELECT b.model || ' random q95 [' || coalesce(r.profile, '?') || ']', b.layer, max(b.null_q95) "
    "FROM baselines_random b LEFT JOIN runs r USING (run_id) GROUP BY ALL ORDER BY 1, 2",
    needs=("baselines_random", "runs"))
PLOT_BEST_SURFACE = Query(
    "Best surface baseline (chosen on validation), test AUROC",
    "SELECT model || ' best surface: ' || baseline, auroc FROM probes_surface WHERE split = 'test' AND chosen "
    "ORDER BY 1", needs=("probes_surface",))
PLOT_NULL_SAMPLES = Query(
    "Null AUROC samples at each chosen layer, beside the probe's test AUROC there",
    "SELECT n.model, n.kind, s.method, n.layer, s.test_auroc, list(n.auroc ORDER BY n.auroc) "
    "FROM baselines_null_samples n JOIN probes_selected s ON s.model = n.model AND s.layer = n.layer "
    "GROUP BY ALL ORDER BY 1, 2, 3", needs=("baselines_null_samples", "probes_selected"))
PLOT_DOSE = Query(
    "Steering effect vs alpha=0 by alpha, pooled over prompts, with its CI, per scorer",
    "SELECT model || ' ' || family || ' ' || scorer, alpha, effect, ci_low, ci_high FROM steering_summary "
    "WHERE family LIKE 'ALL:%' ORDER BY 1, alpha", needs=("steering_summary",))
PLOT_PATCHING = Query(
    "Patching change in logit difference by layer (per intervention and position)",
    "SELECT model || ' ' || kind || '@' || position, layer, delta_mean FROM patching_summary "
    "ORDER BY 1, layer", needs=("patching_summary",))
PLOT_MEDIATION = Query(
    "Mediation: indirect effect through the probe direction by layer",
    "SELECT model || ' NIE', layer, nie FROM mediation_effects ORDER BY 1, layer", needs=("mediation_effects",))
PLOT_HEATMAP = Query(
    "Test AUROC per (model, method, profile) row and layer column", PLOT_AUROC.sql, needs=PLOT_AUROC.needs)


def equality_filter(where: dict[str, object]) -> str | None:
    """A WHERE clause (names and values quoted) of column = value for each item; None for no items. The
    Findings screen opens a claim's table with it."""
    def literal(v: object) -> str:
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        return repr(v) if isinstance(v, int | float) else quote_text(str(v))

    return " AND ".join(f"{quote_name(k)} = {literal(v)}" for k, v in where.items()) or None
