"""The one engine (DESIGN P2): loading, forward, capture, patch, steer, score, generate."""
