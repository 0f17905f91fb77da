"""ferdata's trainer: fits and scores VGG-style networks on a dataset variant."""
