from msmkit.hookspecs import hookimpl


@hookimpl
def register_training_backends(register):
    # The module imports torch/trl only inside its methods.
    from msmkit.training.trl_backend import TRLBackend

    register(TRLBackend())
