import streamlit as st

from genmodels.i18n import _
from genmodels.ui.state import run_through_the_app

run_through_the_app()
st.title(_("Compare"))
