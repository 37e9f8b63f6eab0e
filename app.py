"""The Generative Models Lab: entry point (``make run`` or ``streamlit run app.py``).

Navigation over the lesson pages in pages/, and a sidebar on every page: the compute device, the
session's training job (live, with a Stop button) and a reset-session button.
"""

import streamlit as st

from genmodels.runtime import configure_process, env_int
from genmodels.ui.cache import start_warming
from genmodels.ui.render import job_status_line
from genmodels.ui.state import live_refresh, poll_job, reset_session
from genmodels.ui.status import device_label


@st.cache_resource
def configure_once() -> bool:
    """Once per server: process-wide torch settings, and (unless GENLAB_WARM_CACHES=0) the lessons'
    shared results computed in the background, so the first student on each page need not wait."""
    configure_process()
    if env_int("GENLAB_WARM_CACHES", 1, 0, 1):
        start_warming()
    return True


configure_once()
st.set_page_config(page_title="Generative Models Lab", page_icon="🧪", layout="wide")

pages = {
    "": [st.Page("pages/home.py", title="Home", default=True)],
    "Learn": [st.Page("pages/autoencoders.py", title="Autoencoders"),
              st.Page("pages/denoising.py", title="Denoising lab"),
              st.Page("pages/vae_explorer.py", title="VAE latent explorer"),
              st.Page("pages/gan_studio.py", title="GAN studio"),
              st.Page("pages/gan_lab.py", title="2-D GAN lab")],
    "Build": [st.Page("pages/train.py", title="Train"), st.Page("pages/models.py", title="Models")],
}
navigation = st.navigation(pages)


# The job line refreshes itself only while the session has a job queued or training (live_refresh).
refresh_every = live_refresh()


@st.fragment(run_every=refresh_every)
def sidebar_job() -> None:
    job, view = poll_job()
    if job is None:
        st.caption("No training job in this session yet.")
        return
    st.markdown(job_status_line(view))
    if view.active:
        st.progress(view.progress)
        if st.button("Stop training", key="sidebar_stop"):
            job.stop()
    elif refresh_every:
        st.rerun(scope="app")  # the job has ended: redraw the app once, every timer off


with st.sidebar:
    st.markdown(f"**Compute:** {device_label()}")
    job_area = st.container()  # filled by the polling fragment below
    if st.button("Reset session", key="reset_session",
                 help="Start this session over: stop training, forget its models (the 2-D lab's too) and every "
                      "page's settings"):
        reset_session()
        st.rerun()
with job_area:
    sidebar_job()

navigation.run()
