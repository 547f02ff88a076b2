"""Deterministic test bytes shared by the sample and corpus writers (no numpy RNG, so any Python gives them)."""


def lcg_bytes(seed, count):
    """count bytes from a 32-bit LCG (Numerical Recipes constants), the high byte of each state."""
    state = seed
    out = bytearray()
    for _ in range(count):
        state = (1664525 * state + 1013904223) % 2**32
        out.append(state >> 24)
    return bytes(out)
