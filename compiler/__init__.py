"""mtus back ends: check/ (what checking a case loads), build/ (what compiles a pack), tools/ (the commands)."""
