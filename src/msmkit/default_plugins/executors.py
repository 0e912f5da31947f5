"""Built-in executors, registered through the same hook as a plugin's."""

from msmkit.hookspecs import hookimpl


@hookimpl
def register_executors(register):
    from msmkit.executors.local import AccelerateExecutor, InlineExecutor, ProcessExecutor

    register(InlineExecutor(), aliases=("inline",))
    register(ProcessExecutor())
    register(AccelerateExecutor())

    from msmkit.executors.background import BackgroundExecutor
    from msmkit.executors.slurm import SlurmExecutor

    register(BackgroundExecutor())
    register(SlurmExecutor())
