"""Harness code for the tests and the deploy rehearsal (emulated AWS, moto patches)."""
