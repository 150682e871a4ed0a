"""The Schemathesis contract suite: one contract per provider, checked against any target."""
