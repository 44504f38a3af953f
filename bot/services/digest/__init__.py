"""The weekly digest: the sections each capability contributes, and the digest built from them."""
