"""Stage `build@<variant>`: one balanced/augmented variant of the training split.

Usage: python -m pipelines.build VARIANT TIMINGS.json   (reads build.data, writes build.out/VARIANT; the step
times go to TIMINGS.json, outside the variant, whose bytes must not depend on the clock)
"""

import sys
from pathlib import Path

from ferdata.build import build_variant
from ferdata.card import write_json
from ferdata.params import load_params


def main(variant: str, timings: str) -> None:
    params = load_params(Path("params.yaml"))
    build = params.build
    _, seconds = build_variant(variant, Path(build.data), Path(build.out) / variant, build, params.seed)
    write_json(Path(timings), {"seconds": seconds})


if __name__ == "__main__":
    main(*sys.argv[1:])
