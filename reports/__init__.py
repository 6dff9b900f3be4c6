"""The HTML gameday report: renderer, SVG charts and Jinja2 templates."""
