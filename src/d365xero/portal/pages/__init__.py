"""The portal's pages, one module per area of the user guide, each with a `router`."""
