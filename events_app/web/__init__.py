"""The web edge: the only package that imports Starlette."""
