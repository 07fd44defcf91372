"""Sample data files."""
