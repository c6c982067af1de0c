"""The embedded default embedder (onnxruntime is imported on first use)."""

from langchain_finops.embeddings.default import DefaultEmbeddings

__all__ = ("DefaultEmbeddings",)
