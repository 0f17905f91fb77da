"""DVC stage entry points: each reads its params.yaml section and calls the ferdata library."""
