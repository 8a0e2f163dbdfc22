"""The one HTTP app: Slack's `POST /slack/events`, `GET /healthz`, and the routes other adapters
add (Teams' `POST /api/messages`, downloads), served by uvicorn on one port.

Untrusted bytes are bounded before they are read, verified before they are parsed, and a
request seen before is answered as done rather than run again. See `app.build_http_app`.
"""
