"""Pages of the app: one module per page, each registering itself with ``dash.register_page``."""
