"""A plain-text summary of the collected results (what `make run` prints without a terminal).

One section per question the artifact answers, each read from results.duckdb (read-only) and
printed only when its tables are there: the probe at its validation-chosen layer, the nulls at that
layer, the causal verdicts, the pooled steering effects, and per-layer test AUROC last.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from core import paths
from core.errors import InputError

Section = tuple[str, tuple[str, ...], str]

SECTIONS: list[Section] = [
    ("Probe layer chosen on validation families (v0: on test), scored on held-out test families:",
     ("probes_selected", "runs"),
     "SELECT r.profile, s.model, s.method, s.layer, round(s.depth_frac, 2) AS depth, "
     "round(s.select_auroc, 3) AS select_auroc, s.selected_on, round(s.test_auroc, 3) AS test_auroc, "
     "round(s.ci_low, 3) AS ci_low, round(s.ci_high, 3) AS ci_high "
     "FROM probes_selected s JOIN runs r USING (run_id) ORDER BY s.model, r.profile = 'v0', s.method"),
    ("Nulls at the chosen layer (probe AUROC against 1000 random directions / label permutations):",
     ("probes_selected", "baselines_random", "baselines_permutation", "runs"),
     "SELECT sr.profile, s.model, s.method, s.layer, round(b.auroc_probe, 3) AS probe, "
     "round(b.null_q95, 3) AS random_q95, round(b.p_value, 4) AS random_p, round(p.null_q95, 3) AS perm_q95, "
     "round(p.p_value, 4) AS perm_p FROM probes_selected s JOIN runs sr ON sr.run_id = s.run_id "
     "JOIN baselines_random b ON b.model = s.model AND b.method = s.method AND b.layer = s.layer "
     "JOIN runs br ON br.run_id = b.run_id AND br.profile = sr.profile "
     "LEFT JOIN (SELECT p.*, pr.profile FROM baselines_permutation p JOIN runs pr USING (run_id)) p "
     "ON p.model = s.model AND p.method = s.method AND p.layer = s.layer AND p.profile = sr.profile "
     "ORDER BY s.model, sr.profile = 'v0', s.method"),
    ("One-feature baselines on the test families (a probe should beat each by far):",
     ("probes_confounds", "runs"),
     "SELECT r.profile, c.model, c.baseline, round(c.auroc, 3) AS auroc, round(c.ci_low, 3) AS ci_low, "
     "round(c.ci_high, 3) AS ci_high FROM probes_confounds c JOIN runs r USING (run_id) WHERE c.split = 'test' "
     "ORDER BY c.model, r.profile = 'v0', c.baseline"),
    ("Length control at the chosen layer (word count regressed out; pairs where the empathic text is not longer):",
     ("probes_length_control", "runs"),
     "SELECT r.profile, l.model, l.method, l.layer, round(l.test_auroc, 3) AS test_auroc, "
     "round(l.adjusted_auroc, 3) AS within_class, round(l.residual_auroc, 3) AS pooled, "
     "round(l.pair_wins_empathic_not_longer, 3) AS wins_not_longer, l.n_pairs_empathic_not_longer AS n "
     "FROM probes_length_control l JOIN runs r USING (run_id) ORDER BY l.model, r.profile = 'v0', l.method"),
    ("Causal verdicts of patching (evidence in the patching_verdicts table):", ("patching_verdicts",),
     "SELECT model, question, answer FROM patching_verdicts ORDER BY model, question"),
    ("Causal verdicts of ablation (evidence in the ablation_verdicts table):", ("ablation_verdicts",),
     "SELECT model, question, answer FROM ablation_verdicts ORDER BY model, question"),
    ("Causal verdicts of mediation (evidence in the mediation_verdicts table):", ("mediation_verdicts",),
     "SELECT model, question, answer FROM mediation_verdicts ORDER BY model, question"),
    ("Steering, pooled over prompts: classifier effect vs alpha=0 at the largest |alpha| of each sign:",
     ("steering_summary",),
     "SELECT model, layer, family, alpha, round(alpha_rel, 3) AS alpha_rel, round(effect, 3) AS effect, "
     "round(ci_low, 3) AS ci_low, round(ci_high, 3) AS ci_high, success, elbow_alpha, breakdown_alpha "
     "FROM steering_summary WHERE scorer = 'classifier' AND family LIKE 'ALL:%' AND alpha <> 0 "
     "QUALIFY abs(alpha) = max(abs(alpha)) OVER (PARTITION BY model, layer, family, sign(alpha)) "
     "ORDER BY model, layer, family, alpha"),
    ("Test AUROC by layer (mean-difference probe; v1 profiles):", ("probes_auroc", "runs"),
     "SELECT r.profile, a.model, a.layer, round(a.auroc, 3) AS auroc, round(a.ci_low, 3) AS lo, "
     "round(a.ci_high, 3) AS hi FROM probes_auroc a JOIN runs r USING (run_id) WHERE a.split = 'test' "
     "AND a.method = 'mean_diff' AND r.profile <> 'v0' ORDER BY a.model, r.profile, a.layer"),
]


def print_summary(echo: Callable[[str], None] = print) -> None:
    """Print each section of SECTIONS whose tables are in results.duckdb (opened read-only)."""
    db = paths.database()
    if not db.exists():
        raise InputError(db, "no results yet: run the pipeline first (make run)")
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        echo(f"{db}: {len(tables)} tables: {', '.join(sorted(tables))}")
        for title, needs, sql in SECTIONS:
            if set(needs) <= tables:
                frame = con.sql(sql).fetchdf()
                if len(frame):
                    echo(f"\n{title}\n{frame.to_string(index=False, max_colwidth=110)}")
