"""Performance measurements for the perf bench: arithmetic floors and probes run in
processes of their own."""
