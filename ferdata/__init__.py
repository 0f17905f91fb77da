"""ferdata: leak-free data preparation, resampling and training for facial expression recognition."""

__version__ = "0.1.0"
