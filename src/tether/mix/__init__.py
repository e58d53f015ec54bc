"""Mixing with provenance: the training set of a generation (human anchor + accumulated synthetic rows under a
synthetic ceiling, a real-only holdout with leakage checks) and its exports.

`tether.mix.export` writes a mix as Parquet (for `datasets`), OpenAI chat / preference JSONL, ShareGPT and Alpaca
JSON, each row keeping a `tether_id` back to its record; `tether.mix.datacard` writes the markdown data card that
goes beside every export.
"""
