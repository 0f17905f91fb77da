"""Stage `audit`: duplicates and quality report of a dataset.  Usage: python -m pipelines.audit DATASET_DIR OUT.json"""

import sys
from pathlib import Path

from ferdata.audit import audit_dataset
from ferdata.card import write_json
from ferdata.params import load_params
from ferdata.store import load_dataset
from pipelines.timings import timed


def main(dataset: str, out: str) -> None:
    params = load_params(Path("params.yaml"))
    with timed("audit"):
        write_json(Path(out), audit_dataset(load_dataset(Path(dataset)), params.audit))


if __name__ == "__main__":
    main(*sys.argv[1:])
