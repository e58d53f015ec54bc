"""Engines that run stage functions: the local asyncio engine (in the stages) and the Ray Data engine."""
