"""Pure rules over plain data: no I/O."""
