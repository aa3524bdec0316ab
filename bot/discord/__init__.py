"""The Discord door: slash, prefix and mention questions answered by the same engine as the CLI.

Importing this package needs no discord.py; only the modules that talk to Discord
(client, cog, views, worker) import it, so the CLI works without the extra installed.
"""
