"""The gate's power, measured: realistic regressions planted in a copy of the package, and
benign variations, each run through CI's quick gate. `python -m mutations` runs them all."""
