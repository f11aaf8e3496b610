"""Source adapters: connector exports mapped onto the native landing contracts."""
