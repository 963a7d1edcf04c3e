"""Shared fixtures: the users every view is tested with."""
