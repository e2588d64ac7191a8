"""The science: what the results say about the decay, computed from the results CSV
(results -> analysis -> report). Judgements and the measure (judged), the arms of the
design (arms), the analysis fixed before the pilot (plan), paired effects with their
intervals, tests and power (effects, intervals), and the answer (answer, tables, figures)."""
