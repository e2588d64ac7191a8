"""Many experiments: the grid of cells, where they run (executors), the result row and the
results store they are recorded in."""
