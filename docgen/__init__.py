"""docgen: document generation and archive service for Jiangsu's follow-up care network."""

__version__ = "0.1.0"
