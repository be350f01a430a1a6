"""The web-app fixtures (dash_app, client, live_url, driver, artifacts) live in tests/app_fixtures.py."""
