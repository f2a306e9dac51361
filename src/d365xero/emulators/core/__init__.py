"""What the emulators share: control plane, clock, call counts, TLS, serving."""
