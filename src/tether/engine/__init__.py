"""Engines: where a stage's heavy inner loop runs. `seam` is the small object stages accept (in-process when its
hooks are None); `ray/` fills the hooks with Ray Data. Stages import `tether.engine.seam` only."""
