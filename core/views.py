"""The one home of results SQL: derived tables, the summary's sections and the catalog's listings.

Every query names tables as they are published (`runs`, `probes_selected`, ...). collect runs them
over DuckDB tables in outputs/results.duckdb, the summary over that file, and the TUI's catalog over
in-memory views of the Parquet parts; all three agree because they share this text. Plain data and
string builders only: no connection is held and nothing beyond the standard library is imported, so
the TUI (P3) can use it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
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
          needs=("probes_selected", "baselines_random", "baselines_permutation", "runs")),
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
          needs=("probes_selected", "probes_erased", "runs")),
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
