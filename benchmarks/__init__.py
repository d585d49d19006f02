"""Performance benchmark of the planning map against the naive Streamlit baseline (see README.md here)."""
