"""Task samplers: pure functions of a PRNG key, usable under jit and vmap."""
