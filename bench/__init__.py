"""Benchmarks: synthetic plans of growing size, and a runner that drives `wsoa serve --http` with
signed slash commands as Slack would, against a bare Bolt app on the same server stack (the
floor). `make bench` runs it; docs/PERFORMANCE.md holds the latest figures."""
