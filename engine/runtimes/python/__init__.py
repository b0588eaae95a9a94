"""Restricted Python: the backend, its guards, the allowed modules, and the `fox` object Python plugins see."""
