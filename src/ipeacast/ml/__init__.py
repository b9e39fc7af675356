"""The model, where the training container runs: features, candidates, backtest, forecast, report.

Imports the core only; the container's entry point is `trainer.main` (src/ml/train.py).
"""
