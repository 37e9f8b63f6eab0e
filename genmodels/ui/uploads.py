"""Your own images on the Train page: a zip uploaded, checked, made 28x28 grey and previewed."""

from __future__ import annotations

import streamlit as st

from genmodels.data import Dataset
from genmodels.errors import ImageRejected
from genmodels.i18n import _, ngettext
from genmodels.images import MIN_IMAGES, dataset_from_zip, grid
from genmodels.ui.render import plain


def own_images() -> Dataset | None:
    """The uploader for a zip of pictures; the dataset made from it (train and held-out test
    images), or None while there is none or it was refused (the page says why). The zip is read
    once per upload and kept in the session."""
    upload = st.file_uploader(_("A .zip of at least {n} images (png, jpg, webp, bmp, gif); images in sub-folders "
                                "are labelled by folder", n=MIN_IMAGES), key="train_zip")
    # No type=: Streamlit refuses other files in English only; dataset_from_zip refuses them translated.
    if upload is None:
        st.info(_("Upload a zip to train on your own pictures. They are made grey, square and 28x28, and inverted "
                  "when their background is light, like the built-in datasets."))
        return None
    cached = st.session_state.get("genlab_zip")
    if cached is None or cached[0] != upload.file_id:
        try:
            cached = (upload.file_id, dataset_from_zip(upload.getvalue()))
        except ImageRejected as error:
            cached = (upload.file_id, error)
        st.session_state["genlab_zip"] = cached
    result = cached[1]
    if isinstance(result, ImageRejected):
        st.error(_("{file} cannot be used: {error}", file=plain(upload.name), error=plain(result)))
        return None
    dataset = result.dataset
    st.success(_("{n} images from {file}: {train} to train on, {test} held out for testing (the Denoising lab uses "
                 "them); classes: {classes}", n=result.images_found, file=plain(upload.name),
                 train=len(dataset.train_x), test=len(dataset.test_x), classes=plain(", ".join(dataset.class_names))))
    st.image(grid(dataset.train_x[:32], columns=16, scale=2), caption=_("as the model will see them"))
    if result.problems:
        with st.expander(ngettext("{n} file skipped", "{n} files skipped", len(result.problems),
                                  n=len(result.problems))):
            st.text("\n".join(str(problem) for problem in result.problems))
    return dataset
