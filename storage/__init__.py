"""The run log: one SQLite file (schema, writer, CSV export, analysis queries).

Imports neither textual nor any deep-learning framework.
"""
