"""sinelstm: the sine-wave LSTM experiment of the Qiita article, measured and regression-tested."""

__version__ = "0.1.0"
