"""Stage `build@<variant>`: one balanced/augmented variant of the training split.

Usage: python -m pipelines.build VARIANT   (reads build.data, writes build.out/VARIANT)
"""

import sys
from pathlib import Path

from ferdata.build import build_variant
from ferdata.config import load
from ferdata.variants.section import BuildStageParams
from pipelines.timings import timed


def main(variant: str) -> None:
    params = load(BuildStageParams)
    build = params.build
    with timed(f"build@{variant}") as record:
        _, record["steps"] = build_variant(variant, Path(build.data), Path(build.out) / variant, build, params.seed)


if __name__ == "__main__":
    main(*sys.argv[1:])
