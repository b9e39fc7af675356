"""The ETL, where Spark runs (Glue, or local mode on one machine): extract, transform, load.

Imports the core only; the Glue job scripts (src/etl/) call `steps` through `glue_args`.
"""
