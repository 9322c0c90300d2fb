"""View models for pages, exports and the CLI: run detail, timeline, alignment, lineage, incident Markdown, formatting."""
