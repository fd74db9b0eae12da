"""Metrics: sample quality, diversity and translation scores."""
