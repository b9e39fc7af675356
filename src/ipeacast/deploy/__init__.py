"""Deployment tooling: artifacts, the training image, executions, the `ipeacast deploy` command
and the packaging that builds what ships.

Never shipped to Glue, the Lambda or the training container (the wheel and the Lambda zip leave
it out); importing it is cheap, so `python -m ipeacast.deploy.packaging` runs on a bare Python.
"""
