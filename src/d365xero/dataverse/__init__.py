"""The Dataverse Web API client (httpx + msal): OData queries, paging, $batch, auth."""
