"""Dataset readers; importing a module registers its layouts with the registry."""

from core.datasets.readers import (  # noqa: F401
    celeba,
    cifar,
    cityscapes,
    coco,
    flowers102,
    food101,
    imagefolder,
    imagenet,
    mnist,
    multilabel_csv,
    segpairs,
    voc,
    yolo,
)
