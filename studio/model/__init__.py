"""Models: the architecture registry, validation with fixes, estimates, presets."""
