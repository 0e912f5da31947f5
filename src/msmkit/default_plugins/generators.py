from msmkit.hookspecs import hookimpl


@hookimpl
def register_doc_generators(register):
    from msmkit.docgen.generator import LLMGenerator
    from msmkit.generators.offline import OfflineGenerator

    register(OfflineGenerator())
    register(LLMGenerator())
