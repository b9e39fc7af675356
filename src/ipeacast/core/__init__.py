"""The core every runtime shares: the run, lake paths, storage, schemas, errors.

It imports nothing else of the package (checked by import-linter, `make lint`) and no data
library, so the Lambda zip, the Glue jobs, the training container and the deploy tools all use it.
"""
