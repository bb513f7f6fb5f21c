"""Shared code of the MNIST lecture notebooks: data, models, training, results, figures and the CLI."""
