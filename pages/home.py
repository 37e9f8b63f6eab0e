"""Home: what the lab is and where to start."""

import streamlit as st

from genmodels.registry import FAMILIES

st.title("Generative Models Lab")
st.write(
    "Train small generative image models live, and look inside them: autoencoders that compress, "
    "VAEs whose latent space you can walk through, denoisers that restore corrupted pictures, and "
    "GANs that learn to fool a critic."
)
st.markdown(
    "**Where to start:** open **Train**, keep the preset, press *Start training* and watch the loss "
    "curves fall and the pictures sharpen. Training runs in the background: you can visit other "
    "pages and come back."
)
st.subheader("The model families")
st.table({"family": [spec.title for spec in FAMILIES.values()],
          "what it does": [spec.description for spec in FAMILIES.values()],
          "command-line name": list(FAMILIES)})
