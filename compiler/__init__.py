"""mtus back ends and command line: checked model -> checkers, rationale, packs."""
