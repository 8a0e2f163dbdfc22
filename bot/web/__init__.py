"""The partnership's pages: the public progress page, its static export, and the signed-in
partner pages (bot/web/site.py)."""
