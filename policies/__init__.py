"""Service catalogue and the charter's decision function."""
