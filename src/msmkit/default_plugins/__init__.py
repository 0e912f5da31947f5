"""msmkit's built-in components, shipped as ordinary plugins through the same hooks."""
