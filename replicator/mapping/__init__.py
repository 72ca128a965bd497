"""Mapping engine: the declarative format, its loader, value conversions and the compiled engine."""
