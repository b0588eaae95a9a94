"""Running plugins: a version (manifest, source, fingerprint), its actor thread, its breaker, stuck-call watch."""
