"""API views by resource; each calls the owning app's selectors and services."""
