"""Organizer workflows that span the challenges and submissions apps (see services.py)."""
