"""The teacher layer: one OpenAI-compatible async client for embedded and remote teachers, with a request cache
that makes every finished call durable (exact resume), adaptive concurrency and per-run accounting."""
