"""photolens: organise a local photo library by meaning."""

__version__ = "0.1.0"
