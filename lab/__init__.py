"""The collection's command line, beside the lecture library ``lib``: ``python -m lab run`` (the main
job), ``python -m lab table`` (the README's results table) and ``python -m lab bench``."""
