"""Dataset variants: named, ordered lists of steps that resample or augment the training split only.

The step names and the params sections each reads live here, light to import (params validation needs
them); `registry` builds the steps.
"""

STEP_HELP: dict[str, str] = {
    "none": "the training split as ingested",
    "class_weight": "no resampling; balanced class weights for the loss",
    "ros": "random oversampling to the majority count",
    "rus": "random undersampling to the minority count",
    "smote": "SMOTE to the majority count",
    "adasyn": "ADASYN to about the majority count",
    "tomek": "remove Tomek links",
    "enn": "remove rows their neighbours disagree with",
    "smotetomek": "SMOTE, then remove Tomek links",
    "smoteenn": "SMOTE, then edited nearest neighbours",
    "augment": "albumentations copies",
    "merge": "another source's training rows added",
}

# The params sections (params.StepParams) each step reads; imblearn's composites read both of their parts'.
STEP_SECTIONS: dict[str, tuple[str, ...]] = {
    "none": (),
    "class_weight": (),
    "ros": ("ros",),
    "rus": ("rus",),
    "smote": ("smote",),
    "adasyn": ("adasyn",),
    "tomek": ("tomek",),
    "enn": ("enn",),
    "smotetomek": ("smote", "tomek"),
    "smoteenn": ("smote", "enn"),
    "augment": ("augment",),
    "merge": ("merge",),
}
