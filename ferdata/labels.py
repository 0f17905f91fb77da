"""The canonical FER2013 label order and the names datasets use for each class."""

from ferdata.errors import FerdataError

CLASS_NAMES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(CLASS_NAMES)

# Folder and column spellings seen in the wild, mapped by NAME (never by alphabetical index:
# an ImageFolder-style index silently swaps neutral and sad).
_SYNONYMS: dict[str, int] = {
    **{name: i for i, name in enumerate(CLASS_NAMES)},
    "anger": 0,
    "disgusted": 1,
    "fearful": 2,
    "happiness": 3,
    "sadness": 4,
    "surprised": 5,
}


def label_of_name(name: str) -> int:
    """The canonical label of a class name such as a folder name; raises on unknown names."""
    try:
        return _SYNONYMS[name.strip().lower()]
    except KeyError:
        known = ", ".join(CLASS_NAMES)
        raise FerdataError(f"unknown class name {name!r} (known: {known})") from None
