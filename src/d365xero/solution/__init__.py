"""Our Dataverse solution: the one definition of our schema (schema.py), and the importable zip
built from it."""
