"""What the Lambda runs for the state machine: the training-job request and the publication.

Imports the core only, and no data library (import-linter checks both), so the Lambda zip is
this subpackage, the core and the handler, by construction. The local run publishes through the
same `publish` module.
"""
