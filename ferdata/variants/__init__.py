"""Dataset variants: named, ordered lists of steps that resample or augment the training split only.

A step is one class in one module of `steps/` (see `base.Step`); `registry` finds them and builds a variant's
steps from its params.
"""
