"""A Ray cluster for one stage: started for it (or joined, at `address`) and shut down after."""

from __future__ import annotations

import contextlib
import logging

from tether.errors import TetherError

RAY_HINT = "pip install -e '.[ray]'"


def require_ray():
    try:
        import ray
    except ImportError:
        raise TetherError(f"the Ray engine needs Ray: {RAY_HINT}") from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None, num_cpus: int | None = None):
    """ray.init for the run (a local cluster unless `address` names one), shut down after. Ray Data's INFO
    lines (execution plans, and its progress logged line by line when stdout is not a terminal: hundreds per
    shuffle) are kept out of tether's output: they stay in the session's log files under /tmp/ray."""
    ray = require_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)  # fmt: skip
    data_log = logging.getLogger("ray.data")
    level = data_log.level
    data_log.setLevel(logging.WARNING)
    try:
        yield ray
    finally:
        data_log.setLevel(level)
        if started:
            ray.shutdown()
