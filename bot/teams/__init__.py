"""The Microsoft Teams adapter: app package, Bot Connector client, and (with the core's
addresses and senders) the inbound app."""
