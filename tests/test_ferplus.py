import numpy as np
import pytest

from ferdata.errors import FerdataError
from ferdata.ingest import ingest
from ferdata.sections.ingest import IngestParams
from ferdata.sources.fer2013_csv import write_fer2013_csv
from ferdata.sources.ferplus import VOTE_COLUMNS, read_ferplus

HEADER = "Usage,Image name," + ",".join(VOTE_COLUMNS)


def _votes_line(usage: str, name: str, **votes: int) -> str:
    return ",".join([usage, name, *(str(votes.get(c, 0)) for c in VOTE_COLUMNS)])


def test_majority_rule_of_the_ferplus_paper(tmp_path):
    lines = [
        _votes_line("Training", "fer0.png", happiness=6, neutral=4),  # happy
        _votes_line("Training", "fer1.png", anger=5, fear=5),  # tie: no majority
        _votes_line("Training", "fer2.png", sadness=4, surprise=1, fear=1, neutral=3, unknown=1),  # 1s zeroed: sad 4/7
        _votes_line("Training", "fer3.png", contempt=8, neutral=2),  # contempt: dropped
        _votes_line("Training", "", NF=10),  # not a face
        _votes_line("Training", "fer5.png", unknown=7, happiness=3),  # unknown wins: dropped
    ]
    path = tmp_path / "fer2013new.csv"
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    plus = read_ferplus(path)
    assert plus.labels.tolist() == [3, -1, 4, -1, -1, -1]
    assert plus.dropped == {"no_majority": 1, "contempt": 1, "unknown": 1, "NF": 1}


def _fer_and_plus(tmp_path, faces, plus_usage=None):
    images, labels, usage = faces
    write_fer2013_csv(tmp_path / "fer2013.csv", images, labels, usage)
    names = list(VOTE_COLUMNS)
    # Every row gets a clear FER+ majority for class (label + 1) % 7, except every 10th, which is unknown.
    to_column = {label: name for name, label in VOTE_COLUMNS.items() if label >= 0}
    lines = []
    for i, (label, u) in enumerate(zip(labels, plus_usage if plus_usage is not None else usage, strict=True)):
        vote = "unknown" if i % 10 == 0 else to_column[(int(label) + 1) % 7]
        lines.append(_votes_line(u, f"fer{i:07d}.png", **{vote: 9, names[0] if vote != names[0] else names[1]: 1}))
    (tmp_path / "fer2013new.csv").write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return tmp_path / "fer2013.csv", tmp_path / "fer2013new.csv"


def test_ingest_relabels_and_counts_what_moved(tmp_path, faces):
    fer, plus = _fer_and_plus(tmp_path, faces)
    card = ingest(fer, tmp_path / "out", IngestParams(ferplus=str(plus)), seed=0)
    n = len(faces[1])
    dropped = len(range(0, n, 10))
    assert card["ferplus"]["dropped"] == dropped
    assert card["ferplus"]["kept"] == card["ferplus"]["relabelled"] == n - dropped
    kept = np.ones(n, bool)
    kept[::10] = False
    train = kept & (faces[2] == "Training")
    assert card["counts"]["train"] == np.bincount((faces[1][train] + 1) % 7, minlength=7).tolist()


def test_row_count_and_usage_must_agree(tmp_path, faces):
    fer, plus = _fer_and_plus(tmp_path, faces)
    plus.write_text("\n".join(plus.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(FerdataError, match=f"{len(faces[1]) - 1} rows but .* has {len(faces[1])}"):
        ingest(fer, tmp_path / "out", IngestParams(ferplus=str(plus)), seed=0)
    shifted = np.roll(faces[2], 1)
    fer, plus = _fer_and_plus(tmp_path, faces, plus_usage=shifted)
    with pytest.raises(FerdataError, match="has Usage"):
        ingest(fer, tmp_path / "out", IngestParams(ferplus=str(plus)), seed=0)
    assert not (tmp_path / "out").exists()


def test_missing_vote_column_is_named(tmp_path):
    path = tmp_path / "fer2013new.csv"
    path.write_text("Usage,Image name,neutral\nTraining,a.png,10\n")
    with pytest.raises(FerdataError, match="missing column 'happiness'"):
        read_ferplus(path)
