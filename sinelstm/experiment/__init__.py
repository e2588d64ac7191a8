"""The experiment, faithful to the article: config -> series -> windows -> model -> training ->
autoregressive forecast -> metrics. Nothing here knows of grids, files or verdicts."""
