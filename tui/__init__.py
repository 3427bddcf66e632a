"""The terminal interfaces: the ``edgemt`` command line and the Textual app.

The only package that imports textual (and only in the app's modules, so headless
commands start fast).
"""
