"""ipeacast: extract, transform, load and forecast Ipeadata series, locally and on AWS.

Subpackages by where the code runs (the import rules are checked by import-linter, `make lint`):
core (the run, lake paths, storage, schemas, errors: every runtime), etl (Glue and local Spark),
ml (the training container), aws (what the Lambda runs), deploy (deployment tooling, never
shipped). `pipeline` runs them all on one machine; `cli` is the `ipeacast` command.
"""

__version__ = "0.1.0"
