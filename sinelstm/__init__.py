"""sinelstm: the sine-wave LSTM experiment of the Qiita article, measured and regression-tested."""

__version__ = "0.1.0"

import logging

# Every cell builds a new model, so TensorFlow's "function retracing" warnings are
# expected, per cell, in every worker; they would bury the progress bar.
logging.getLogger("tensorflow").setLevel(logging.ERROR)
