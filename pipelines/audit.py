"""Stage `audit`: duplicates and quality report of a dataset.  Usage: python -m pipelines.audit DATASET_DIR OUT.json"""

import sys
from pathlib import Path

from ferdata.audit import audit_dataset
from ferdata.card import write_json
from ferdata.config import StageParams, load
from ferdata.sections.audit import AuditParams
from ferdata.store import load_dataset
from pipelines.timings import timed


class AuditStage(StageParams):
    audit: AuditParams = AuditParams()


def main(dataset: str, out: str) -> None:
    params = load(AuditStage)
    with timed("audit"):
        write_json(Path(out), audit_dataset(load_dataset(Path(dataset)), params.audit))


if __name__ == "__main__":
    main(*sys.argv[1:])
