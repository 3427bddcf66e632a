"""Which files of an --images folder count, shared by the controller's start-up check
(tui/headless.py) and the runner children (child_inputs.py), so both agree.

A folder's own files, then the files of its sub-folders one level down (one per class);
hidden names (a leading dot) are skipped; anything deeper is not read. Python 3.6+, imports
nothing but ``os`` (the children import it as a top-level module).
"""
import os


def list_files(folder):
    """Image candidates of a folder, sorted: its files, then one level of class folders."""
    files = []
    entries = sorted(os.listdir(folder))
    for name in entries:
        if name.startswith("."):
            continue
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            files.append(path)
    for name in entries:
        if name.startswith("."):
            continue
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            try:
                subs = sorted(os.listdir(path))
            except OSError:  # an unreadable class folder holds nothing we can use
                continue
            for sub in subs:
                p = os.path.join(path, sub)
                if not sub.startswith(".") and os.path.isfile(p):
                    files.append(p)
    return files


def deeper_files(folder, limit=1000):
    """How many files lie below the levels ``list_files`` reads (for the message that says so)."""
    n = 0
    for root, dirs, names in os.walk(folder):
        depth = os.path.relpath(root, folder).count(os.sep) + (0 if root == folder else 1)
        if depth >= 2:
            n += sum(1 for x in names if not x.startswith("."))
            if n >= limit:
                break
    return n
