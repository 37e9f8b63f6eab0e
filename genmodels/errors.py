"""The exceptions a user can cause. Each message says what went wrong and what to do next."""


class GenLabError(Exception):
    """Base class: anything raised with this type is safe to show to a user as it is."""


class ConfigError(GenLabError, ValueError):
    """A hyperparameter is out of range or unknown."""


class DatasetUnavailable(GenLabError):
    """A dataset is neither on disk nor downloadable."""


class CheckpointError(GenLabError):
    """A file is not a valid checkpoint of a known family."""


class TrainingDiverged(GenLabError):
    """The loss became NaN/inf or exploded."""


class ImageRejected(GenLabError):
    """An uploaded file is not an acceptable image; the message names the file and the reason."""
