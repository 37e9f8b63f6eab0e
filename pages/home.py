"""Home: what the lab is and where to start."""

import streamlit as st

from genmodels.i18n import _
from genmodels.registry import listed_families
from genmodels.ui.state import run_through_the_app

FAMILIES = listed_families()  # every family but the Frechet feature classifier

run_through_the_app()
st.title(_("Generative Models Lab"))
st.write(_(
    "Train small generative image models live, and look inside them: autoencoders that compress, "
    "VAEs whose latent space you can walk through, denoisers that restore corrupted pictures, and "
    "GANs that learn to fool a critic."
))
st.subheader(_("The lessons"))
st.markdown(_(
    "Every lesson opens on models that ship with the lab, so nothing needs training first. "
    "A good path is top to bottom:\n"
    "1. **Autoencoders**: squeeze images through a small code, compare with PCA, and see what a "
    "sparsity penalty does to the code units.\n"
    "2. **Denoising lab**: add noise and watch a denoising autoencoder restore the images; upload "
    "your own pictures.\n"
    "3. **VAE latent explorer**: walk a 2-D latent space with sliders and clicks; every point "
    "decodes to an image.\n"
    "4. **GAN studio**: samples from a shipped DCGAN, a sample-quality score with its floor, and a GAN "
    "trained live beside its curves, with failures to reproduce on purpose.\n"
    "5. **2-D GAN lab**: watch a generator and a discriminator play their game on a ring of points, "
    "step by step, and make the generator collapse onto one mode on purpose.\n"
    "6. **Train**: train any family live and watch its loss curves; the model is then usable on "
    "every lesson page. Training runs in the background, so you can keep exploring.\n"
    "7. **Models**: every model at hand, with downloads, uploads, comparisons and the code to "
    "reproduce it."
))
st.subheader(_("The model families"))
# The registry's titles and descriptions are lazy texts: str() gives them in the reader's language.
st.table({_("family"): [str(spec.title) for spec in FAMILIES.values()],
          _("what it does"): [str(spec.description) for spec in FAMILIES.values()],
          _("command-line name"): list(FAMILIES)})
