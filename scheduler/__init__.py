"""Scheduled deliveries: what falls due and its claims (deliveries.py), and the clock that
ticks them (clock.py)."""
