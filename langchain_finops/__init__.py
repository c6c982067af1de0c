"""langchain-finops."""
