"""Tenants and how they run: catalog, SPECs, environments, the supervisor, experiments.

Nothing here imports textual or a deep-learning framework: frameworks live only in
runner children (``runners/child/``), started with a framework environment's interpreter.
"""
