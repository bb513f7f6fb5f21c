"""What the MNIST lecture notebooks share: data, network3's layers, training, results and figures."""
