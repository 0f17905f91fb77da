"""Training recipes as plain, validated data (saved inside every checkpoint).

`paper` is usef-kh/fer's recipe; `cpu-smoke` is a small model trained briefly without ten-crop, for 2-core CPUs.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trainer.augment import AugmentConfig


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["vggnet", "vgg16"] = "vggnet"
    width: float = Field(1.0, gt=0, description="multiplies every layer's width")
    dropout: float = Field(0.2, ge=0, lt=1)
    crop: int = Field(40, ge=8, le=48)
    weights: str | None = Field(None, description="vgg16: local ImageNet weights file")
    epochs: int = Field(300, ge=1)
    batch_size: int = Field(64, ge=1)
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(0.01, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = True
    weight_decay: float = Field(1e-4, ge=0)
    plateau_factor: float = Field(0.75, gt=0, lt=1, description="ReduceLROnPlateau on validation accuracy")
    plateau_patience: int = Field(5, ge=0)
    early_stopping: int | None = Field(None, ge=1, description="stop after this many epochs without a better val")
    ten_crop: bool = Field(True, description="train on ten crops with random erasing; test on their average")
    class_weights: bool | None = Field(
        None, description="weight the loss by the card's class weights; None: when the card has them"
    )
    mixed_precision: bool = Field(True, description="bfloat16 autocast on GPUs")
    channels_last: bool = True
    compile: bool = False
    augment: AugmentConfig = AugmentConfig()


PROFILES: dict[str, TrainConfig] = {
    "paper": TrainConfig(),
    # Sized so the ten default variants and the leakage demonstration train in about 5 minutes on 2 cores.
    "cpu-smoke": TrainConfig(
        width=0.125,
        crop=36,
        epochs=8,
        batch_size=64,
        lr=0.02,
        ten_crop=False,
        plateau_patience=2,
    ),
}
