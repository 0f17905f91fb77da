"""params.yaml's `compare:` section: the baseline and the ensembles of the comparison."""

from pydantic import Field

from ferdata.config import Section


class CompareParams(Section):
    baseline: str = Field("none", description="the variant every other row is tested against")
    ensembles: dict[str, list[str]] = Field(
        default_factory=lambda: {"ros+smote+smotetomek": ["ros", "smote", "smotetomek"]},
        description="name: variants whose mean softmax is scored as one more row",
    )
