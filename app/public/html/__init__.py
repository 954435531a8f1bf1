"""The HTML status page: server-rendered Jinja2 templates, CSS and a small script inlined."""
