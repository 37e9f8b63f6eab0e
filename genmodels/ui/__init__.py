"""Streamlit helpers: the only part of genmodels that imports streamlit."""
