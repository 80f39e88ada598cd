"""Errors a user can fix; the stage entry points print them as one line."""


class FoodCnnError(Exception):
    """A problem with the user's input, parameters or environment, not a bug."""


class ParamsError(FoodCnnError):
    """An invalid value in params.yaml."""


class DataError(FoodCnnError):
    """Images or split files that the pipeline cannot use."""


class RemoteError(FoodCnnError):
    """A DVC remote that is missing, empty or unreachable."""


class IntegrityError(FoodCnnError):
    """Cache objects or workspace outputs whose content does not match their hash."""
