"""ferdata: leak-free data preparation, resampling and training for facial expression recognition.

The public Python surface is what `__all__` names; every other module is ferdata's own and may change.

    ferdata.load(PATH)            a dataset directory as numpy arrays (ferdata.dataset.Dataset)
    ferdata.Dataset, ferdata.Split
    ferdata.CLASS_NAMES           FER2013's label order
    ferdata.torch.FerDataset      a torch Dataset over one split (imports torch: `import ferdata.torch`)
    ferdata.__version__
"""

__version__ = "0.1.0"
__all__ = ["CLASS_NAMES", "Dataset", "Split", "__version__", "load"]

_LAZY = {
    "load": "ferdata.dataset",
    "Dataset": "ferdata.dataset",
    "Split": "ferdata.store",
    "CLASS_NAMES": "ferdata.labels",
}


def __getattr__(name: str):
    # Imported on first use: `ferdata --help` and every command's start stay free of numpy.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ferdata' has no attribute {name!r}")
