"""Demo spaces as data files, the one way to build valid rows, and the documented history generator."""
