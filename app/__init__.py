"""The voisinmap Dash web app (pages, components, assets)."""
