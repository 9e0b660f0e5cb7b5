"""Dataset readers; importing a module registers its layouts with the registry."""

from core.datasets.readers import cifar, imagefolder, mnist  # noqa: F401
