"""d365xero: keeps Microsoft Dynamics 365 Sales (Dataverse) and Xero in step."""

__version__ = "0.1.0"
