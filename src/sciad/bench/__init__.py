"""`sciad bench` and `sciad report`: timing every problem × transform × framework × mode on this host.

Each framework runs in its own spawned worker process (no shared GPU allocator, no fork after JAX);
the parent writes one JSON Lines record per case as soon as it finishes.
"""
