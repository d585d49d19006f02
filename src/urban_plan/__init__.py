"""urban-plan: the Jiyang District planning map (pure logic; the Streamlit pages live outside this package)."""

__version__ = "0.1.0"
