"""The UI's widgets, one a module; each redraws from a ``tui.app_state.RunState``."""
