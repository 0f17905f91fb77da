"""Readers of each dataset format, producing the same 48x48 uint8 store."""
