"""The drawing service: the system of record (boards in SQL), the REST API and the web app."""
