"""`tether run`: stage fingerprints for skipping finished work and resuming after a crash."""
