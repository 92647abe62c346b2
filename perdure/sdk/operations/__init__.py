"""One module per durable operation, over the template in `_base`."""
