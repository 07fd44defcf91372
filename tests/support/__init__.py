"""What test modules share: constants, data builders and drivers, imported by name (never from a conftest).

Fixtures stay in the conftest files; everything else a test module or fixture needs from elsewhere
lives here, one module per concept.
"""
