"""genmodels: the shared model package of the Generative Models Lab.

Importing it does no work: no downloads, no model builds, no streamlit. The pieces:

- ``genmodels.models``: one file per family (autoencoder, vae, gan)
- ``genmodels.registry``: family name -> spec (model class, config class, step function)
- ``genmodels.losses``, ``genmodels.corruption``, ``genmodels.metrics``: small pure functions
- ``genmodels.data``: datasets as tensors on the training device
- ``genmodels.training``: the event-yielding training loop; ``genmodels.jobs``: background runs
- ``genmodels.checkpoints``: safetensors files with a JSON config in their metadata
- ``genmodels.cli``: ``python -m genmodels ...``
"""

__version__ = "0.1.0"
