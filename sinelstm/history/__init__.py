"""History: every run's per-config summaries kept by commit, drawn over commits, their shifts
found, and the commit that moved a metric bisected (asv's history and `asv find`, for sinelstm)."""
