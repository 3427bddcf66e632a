"""Modal screens of the UI: add a group, move, export, help, runs in progress."""
