"""The built-in stage kinds, one module each; registered by ``msmkit.default_plugins.stages``.

corpus      spec -> documents (a generator)          produces corpus
tiny-base   the run's texts -> a random tiny model    produces model
midtrain    model + corpus -> model (a backend)       produces model
aft         model + chats -> model (a backend)        produces model
eval        model -> Inspect eval log (a task)        produces eval
"""
