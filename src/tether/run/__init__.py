"""`tether run`: the pipeline (`pipeline`), its dry-run forecast (`plan`), stage fingerprints for skipping finished
work and resuming after a crash (`state`), the gap-filling loop over stages (`fill`), and choosing an engine by name
(`engines`). Above every stage package; only the CLI sits above it."""
