"""tether: synthetic training data for domain LLM fine-tuning, with provenance and factual-accuracy checks."""

__version__ = "0.1.0"
