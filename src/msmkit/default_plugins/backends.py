from msmkit.hookspecs import hookimpl


@hookimpl
def register_training_backends(register):
    # The module imports torch/trl only inside its methods.
    from msmkit.training.trl import TRLBackend

    register(TRLBackend())
