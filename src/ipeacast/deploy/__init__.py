"""Deployment tooling: `clients` (boto3 clients, AWS errors as one-line errors), `artifacts`
(content-addressed upload), `image` (docker build/push, ECR URI), `executions` (Step Functions
runs and smoke runs), `verbs` (the `make` delivery verbs of one environment), `cli` (the
`ipeacast deploy` command) and `packaging` (what ships).

Never shipped to Glue, the Lambda or the training container (the wheel and the Lambda zip leave
it out); importing it is cheap, so `python -m ipeacast.deploy.packaging` runs on a bare Python.
"""
