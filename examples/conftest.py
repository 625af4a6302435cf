# An installed halluscope registers its pytest plugin through the `pytest11` entry point; this
# line also makes the example run from a source tree that was never installed (the plugin is
# never registered twice).
pytest_plugins = ["halluscope.pytest_plugin"]
