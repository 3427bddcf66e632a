"""A fleet: one plan run on many boards joined to one Ray cluster, into one DB.

``plan`` reads and checks a plan file (no Ray); ``cluster`` finds the joined boards and runs
a short task on each (imports Ray); ``board`` is the per-board actor that runs ``edgemt
run`` there into the board's own DB and hands the new rows to the head; ``head`` drives a
plan: one actor per board, and the rows into the fleet DB (storage/fleet_db.py);
``compare`` reads a fleet DB's boards side by side for ``report`` and ``correlate`` (no Ray).
Ray is imported only here, and only by the fleet commands: nothing else of edgemt needs it.
"""
