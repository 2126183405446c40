"""The spiked matrix-tensor model with momentum (being written)."""
__all__ = []
