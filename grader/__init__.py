"""Sandboxed grading of gradient-descent submissions. Plain Python: never imports Django."""
