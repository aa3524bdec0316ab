"""Fetching web pages politely and safely: robots.txt, per-host pacing, limits, no SSRF."""
