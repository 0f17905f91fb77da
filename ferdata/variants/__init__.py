"""Dataset variants: named, ordered lists of steps that resample or augment the training split only."""
