"""The Generative Models Lab: entry point (``make run`` or ``streamlit run app.py``).

For now a single overview page; the lesson pages (Train, VAE latent explorer, Denoising, GAN
studio, Autoencoders, Models) are built on genmodels in the issues that follow.
"""

import streamlit as st

from genmodels.registry import FAMILIES
from genmodels.ui.status import device_label

st.set_page_config(page_title="Generative Models Lab", page_icon="🧪", layout="wide")

st.title("Generative Models Lab")
st.write(
    "Train small generative image models live, and look inside them: autoencoders that compress, "
    "VAEs whose latent space you can walk through, denoisers that restore corrupted pictures, and "
    "GANs that learn to fool a critic."
)
st.subheader("The model families")
st.table({"family": [spec.title for spec in FAMILIES.values()],
          "what it does": [spec.description for spec in FAMILIES.values()],
          "command-line name": list(FAMILIES)})
st.info("The interactive lessons are on their way. Meanwhile every family trains from the command line: "
        "`python -m genmodels train vae --dataset sprites --epochs 1`.")
st.sidebar.markdown(f"**Compute:** {device_label()}")
