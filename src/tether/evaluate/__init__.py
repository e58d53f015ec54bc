"""Factual accuracy of students: metrics, runs, history and the collapse monitor."""
