"""events_app: events of a city's integration office. Layout and import rules: docs/architecture.md."""
