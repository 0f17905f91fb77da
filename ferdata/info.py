"""Class counts per split and how imbalanced each split is."""

from ferdata.labels import CLASS_NAMES
from ferdata.store import Split


def class_count_table(splits: dict[str, Split]) -> dict[str, dict]:
    """Per split: counts per class name, total, and imbalance ratio (largest class / smallest non-empty)."""
    table = {}
    for name, split in splits.items():
        counts = split.class_counts()
        present = [c for c in counts if c > 0]
        table[name] = {
            "counts": dict(zip(CLASS_NAMES, counts, strict=True)),
            "total": sum(counts),
            "imbalance_ratio": round(max(present) / min(present), 2) if present else None,
        }
    return table
