"""The Generative Models Lab: entry point (``make run`` or ``streamlit run app.py``).

Navigation over the lesson pages in pages/, and a sidebar on every page: the language (English or
Simplified Chinese), the compute device, the session's training job (live, with a Stop button) and a
reset-session button.
"""

import streamlit as st

from genmodels.i18n import _
from genmodels.runtime import configure_process, env_int
from genmodels.ui.cache import start_warming
from genmodels.ui.i18n import install as install_language
from genmodels.ui.i18n import language_picker
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
install_language()  # first: every _() below speaks this session's language (?lang=, sidebar, browser)
st.set_page_config(page_title=_("Generative Models Lab"), page_icon="🧪", layout="wide")


def page(name: str, title: str, **options):
    """A page with its address fixed to its file name (/gan_lab), whatever language the title is in,
    so switching language keeps the student on the same page and shared links keep working."""
    return st.Page(f"pages/{name}.py", title=title, url_path=name, **options)


pages = {
    "": [page("home", _("Home"), default=True)],
    _("Learn"): [page("autoencoders", _("Autoencoders")),
                 page("denoising", _("Denoising lab")),
                 page("vae_explorer", _("VAE latent explorer")),
                 page("gan_studio", _("GAN studio")),
                 page("gan_lab", _("2-D GAN lab")),
                 page("diffusion_lab", _("Diffusion lab")),
                 page("compare", _("Compare")),
                 page("style_transfer", _("Style transfer"))],
    _("Build"): [page("train", _("Train")), page("models", _("Models"))],
}
navigation = st.navigation(pages)


# The job line refreshes itself only while the session has a job queued or training (live_refresh).
refresh_every = live_refresh()


@st.fragment(run_every=refresh_every)
def sidebar_job() -> None:
    job, view = poll_job()
    if job is None:
        st.caption(_("No training job in this session yet."))
        return
    st.markdown(job_status_line(view))
    if view.active:
        st.progress(view.progress)
        if st.button(_("Stop training"), key="sidebar_stop"):
            job.stop()
    elif refresh_every:
        st.rerun(scope="app")  # the job has ended: redraw the app once, every timer off


with st.sidebar:
    language_picker()
    compute = _("Compute:")
    st.markdown(f"**{compute}** {device_label()}")
    job_area = st.container()  # filled by the polling fragment below
    if st.button(_("Reset session"), key="reset_session",
                 help=_("Start this session over: stop training, forget its models (the 2-D lab's too) and every "
                        "page's settings")):
        reset_session()
        st.rerun()
with job_area:
    sidebar_job()

navigation.run()
