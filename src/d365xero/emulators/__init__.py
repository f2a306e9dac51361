"""Local, faithful emulators of Xero and Dataverse. Never imported by the service."""
