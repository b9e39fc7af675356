"""ipeacast: extract, transform, load and forecast Ipeadata series, locally and on AWS.

Importing the package is cheap (no pandas, Spark or scikit-learn): the Lambda handler imports
only what it needs.
"""

__version__ = "0.1.0"

DEFAULT_SERIES = "EIA366_PBRENT366"
