"""Gradient flow and aging in the spherical p-spin (being written)."""
__all__ = []
