"""The studies: settings + numerics -> plain records (no file I/O)."""
