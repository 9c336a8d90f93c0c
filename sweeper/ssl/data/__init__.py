"""Training data: the image sets (``images``), the datasets read into them (``datasets``),
image folders decoded once into a shared cache (``image_cache``), the epoch-seeded batches
(``loader``), and the augmented views made in batches on the training device (``views``, on
``pil_ops``)."""
